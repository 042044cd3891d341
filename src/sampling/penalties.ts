/**
 * Repetition penalties over the recent token history.
 *
 * For each distinct token t among the last `penaltyLastN` history tokens,
 * with c = its count in that window (llama.cpp's penalties sampler):
 *
 *   l = l > 0 ? l / repeatPenalty : l * repeatPenalty    (CTRL-style, llama.cpp)
 *   l = l - c * frequencyPenalty - (c > 0) * presencePenalty    (OpenAI)
 *
 * in that order, computed in float64 and rounded to float32 once. Tokens
 * outside the window are untouched; -Infinity stays -Infinity.
 */
import { requireArg } from '../errors.js';
import type { PenaltyOptions, ResolvedPenalties } from './options.js';
import { penaltiesActive, resolvePenalties } from './options.js';

/** First index of the window of history that the penalties look at. */
function windowStart(historyLength: number, lastN: number): number {
  return lastN === -1 ? 0 : Math.max(0, historyLength - lastN);
}

/**
 * Applies the penalties to `logits` in place.
 *
 * `counts` is a zeroed scratch array with at least logits.length entries; it
 * is zeroed again on return. Counting into a vocab-sized array and clearing
 * only what was touched keeps this O(window), with no Map and no allocation
 * per token. Throws BAD_ARGUMENT for a history entry that is not a token id
 * of this vocabulary (and leaves `counts` zeroed).
 */
export function penalizeInPlace(
  logits: Float32Array,
  history: ArrayLike<number>,
  p: ResolvedPenalties,
  counts: Uint32Array,
): void {
  if (!penaltiesActive(p)) return;
  const vocab = logits.length;
  const end = history.length;
  const start = windowStart(end, p.penaltyLastN);
  for (let i = start; i < end; i++) {
    const t = history[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < vocab)) {
      // undo the partial count so the scratch stays zeroed for the next call
      for (let j = start; j < i; j++) counts[history[j]!] = 0;
      requireArg(false, `history[${i}] = ${t} is not a token id in [0, ${vocab})`, {
        field: 'history',
        index: i,
        actual: t,
        expected: `[0, ${vocab})`,
      });
    }
    counts[t]!++;
  }
  const { repeatPenalty, frequencyPenalty, presencePenalty } = p;
  for (let i = start; i < end; i++) {
    const t = history[i]!;
    const c = counts[t]!;
    if (c === 0) continue; // a repeat already handled
    counts[t] = 0;
    let l = logits[t]!;
    if (repeatPenalty !== 1) l = l > 0 ? l / repeatPenalty : l * repeatPenalty;
    l -= c * frequencyPenalty + presencePenalty;
    logits[t] = l;
  }
}

/**
 * Pure version of the penalty step: returns a penalized float32 copy of
 * `logits` and leaves the input alone. Options default to "off" except
 * `penaltyLastN` (64), and are validated like the Sampler's.
 *
 * @example
 * applyPenalties(new Float32Array([2, -2, 1]), [0, 1, 1], { repeatPenalty: 2 });
 * // Float32Array [1, -4, 1]
 * applyPenalties(new Float32Array([2, -2, 1]), [0, 1, 1], { frequencyPenalty: 0.5, presencePenalty: 1 });
 * // Float32Array [0.5, -4, 1]
 */
export function applyPenalties(
  logits: ArrayLike<number>,
  history: ArrayLike<number>,
  opts: PenaltyOptions = {},
): Float32Array {
  const p = resolvePenalties(opts);
  const out = Float32Array.from(logits);
  penalizeInPlace(out, history, p, new Uint32Array(out.length));
  return out;
}
