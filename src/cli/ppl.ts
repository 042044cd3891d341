/** `streamllm ppl`: perplexity of a text or token stream under a cache policy. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { StreamLlmError } from '../errors.js';
import { perplexity } from '../eval/perplexity.js';
import { loadModel, type LoadedModel } from '../runtime/load.js';
import { addCacheFlags, cacheOptionsFrom, describeCache, type CacheFlags } from './cache-flags.js';
import { addEngineFlags, engineOpsFrom, type EngineFlags } from './engine-flags.js';
import { info, intArg, NO_MODEL_MESSAGE, progressBar } from './util.js';

interface PplFlags extends CacheFlags, EngineFlags {
  model?: string;
  tokenizer?: string;
  text?: string;
  tokens?: string;
  json?: boolean;
  batch: number;
  perToken?: boolean;
}

/** Token ids separated by whitespace, or a JSON array: used exactly as given. */
export function parseTokenFile(path: string, vocab: number): number[] {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (e) {
    throw new StreamLlmError('FILE_NOT_FOUND', `cannot read token file ${path}`, { context: { file: path }, cause: e });
  }
  const trimmed = raw.trim();
  let items: unknown[];
  if (trimmed.startsWith('[')) {
    try {
      items = JSON.parse(trimmed) as unknown[];
    } catch (e) {
      throw new StreamLlmError('BAD_ARGUMENT', `${path} starts with '[' but is not a JSON array`, { context: { file: path }, cause: e });
    }
    if (!Array.isArray(items)) throw new StreamLlmError('BAD_ARGUMENT', `${path} is not a JSON array`, { context: { file: path } });
  } else {
    items = trimmed === '' ? [] : trimmed.split(/\s+/);
  }
  return items.map((x, i) => {
    const n = typeof x === 'number' ? x : /^\d+$/.test(String(x)) ? Number(x) : NaN;
    if (!(Number.isInteger(n) && n >= 0 && n < vocab)) {
      throw new StreamLlmError('TOKEN_OUT_OF_RANGE', `token #${i} '${String(x)}' in ${path} is not an id in 0..${vocab - 1}`, {
        context: { file: path, index: i, actual: x },
      });
    }
    return n;
  });
}

export function registerPpl(program: Command): void {
  const cmd = program
    .command('ppl')
    .description('perplexity: score every next token of a text or token stream under a KV-cache policy')
    .option('-m, --model <file>', 'model file: GGUF, or llama2.c checkpoint (.bin)')
    .option('--tokenizer <file>', 'llama2.c tokenizer.bin (GGUF files carry their own)')
    .option('--text <file>', 'UTF-8 text file (tokenized with BOS, as the tokenizer prescribes)')
    .option('--tokens <file>', 'token ids separated by whitespace, or a JSON array; used exactly as given (no BOS added)')
    .option('--batch <n>', 'tokens per forward pass (chunked prefill; results do not depend on it)', intArg('--batch', 1, 65536), 64)
    .option('--json', 'print one JSON object: ppl, nll_mean, tokens_scored, cache')
    .option('--per-token', 'with --json, include every token\'s nll');
  addEngineFlags(addCacheFlags(cmd)).action(async (f: PplFlags) => {
    if (f.model === undefined) throw new StreamLlmError('BAD_ARGUMENT', NO_MODEL_MESSAGE);
    if ((f.text === undefined) === (f.tokens === undefined)) {
      throw new StreamLlmError('BAD_ARGUMENT', 'give exactly one of --text FILE or --tokens FILE');
    }
    const ops = await engineOpsFrom(f, f.model);
    try {
      score(f as PplFlags & { model: string }, loadModel(f.model, { ops, onProgress: progressBar('loading'), ...(f.tokenizer !== undefined ? { tokenizer: f.tokenizer } : {}) }));
    } finally {
      await ops.close();
    }
  });
}

function score(f: PplFlags & { model: string }, m: LoadedModel): void {
  let ids: number[];
  if (f.tokens !== undefined) {
    ids = parseTokenFile(f.tokens, m.hparams.vocabSize);
  } else {
    if (m.tokenizer === undefined) {
      throw new StreamLlmError('TOKENIZER_MISSING', `${f.model} has no tokenizer`, { hint: 'pass --tokenizer, or use --tokens' });
    }
    let text: string;
    try {
      text = readFileSync(f.text!, 'utf8');
    } catch (e) {
      throw new StreamLlmError('FILE_NOT_FOUND', `cannot read text file ${f.text}`, { context: { file: f.text }, cause: e });
    }
    ids = m.tokenizer.encode(text);
  }
  const cache = cacheOptionsFrom(f);
  const session = m.createSession({ cache, batchSize: f.batch, ...(f.sinkToken !== undefined ? { sinkToken: f.sinkToken } : {}) });
  const label = describeCache(cache, m.hparams.contextLength, f.sinkToken ?? m.sinkToken);
  const tty = process.stderr.isTTY === true;
  const t0 = performance.now();
  const r = perplexity(session, ids, {
    onProgress: (done, total) => {
      if (tty) process.stderr.write(`\rscoring ${done}/${total} tokens (${((done * 1000) / (performance.now() - t0)).toFixed(0)} tok/s)`);
    },
  });
  if (tty) process.stderr.write('\n');
  if (f.json === true) {
    const out: Record<string, unknown> = {
      ppl: r.ppl,
      nll_mean: r.nllMean,
      tokens_scored: r.tokensScored,
      cache: { ...cache, label, capacity: session.stats().capacity },
      model: f.model,
    };
    if (f.perToken === true) out['nll'] = Array.from(r.nll);
    process.stdout.write(JSON.stringify(out) + '\n');
  } else {
    process.stdout.write(`ppl ${r.ppl.toFixed(4)} (nll mean ${r.nllMean.toFixed(6)}) over ${r.tokensScored} tokens; cache ${label}\n`);
  }
  info(`scored in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}
