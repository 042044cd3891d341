/**
 * Perplexity of a token stream under a session's cache policy: every next
 * token is scored, nll_i = logsumexp(logits_i) - logits_i[x_{i+1}], in float64.
 */
import { requireArg } from '../errors.js';
import type { Session } from '../runtime/session.js';
import { logSumExp } from '../sampling/math.js';

export interface PerplexityOptions {
  /** Called after each batch with tokens processed so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface PerplexityResult {
  readonly ppl: number;
  readonly nllMean: number;
  readonly tokensScored: number;
  /** nll[i]: negative log-likelihood of tokens[i+1] given tokens[0..i]. */
  readonly nll: Float64Array;
}

/**
 * Score `tokens` (used exactly as given: no BOS is added) through a fresh session.
 * @example
 * const r = perplexity(model.createSession({ cache: { policy: 'sink', sinks: 4, window: 60 } }), ids);
 * console.log(r.ppl);
 */
export function perplexity(session: Session, tokens: ArrayLike<number>, opts: PerplexityOptions = {}): PerplexityResult {
  requireArg(tokens.length >= 2, `need at least 2 tokens to score, got ${tokens.length}`, { field: 'tokens' });
  const nll = new Float64Array(tokens.length - 1);
  let sum = 0;
  const total = tokens.length;
  let lastReport = 0;
  session.evaluate(tokens, (i, row) => {
    if (i + 1 < total) {
      const v = logSumExp(row) - row[tokens[i + 1]!]!;
      nll[i] = v;
      sum += v;
    }
    if (opts.onProgress !== undefined && (i + 1 - lastReport >= 256 || i + 1 === total)) {
      lastReport = i + 1;
      opts.onProgress(i + 1, total);
    }
  });
  const nllMean = sum / nll.length;
  return { ppl: Math.exp(nllMean), nllMean, tokensScored: nll.length, nll };
}
