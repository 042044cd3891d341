/**
 * Numerically careful reductions over a logit row: argmax, log-sum-exp,
 * softmax, log-softmax. Float64 accumulation with the maximum subtracted
 * first, so exp() never overflows and a 150k-term sum keeps ~15 digits
 * (a float32 sum would drift in the 4th digit for flat rows, which is
 * exactly what perplexity is sensitive to).
 *
 * Accepted input: every entry finite or -Infinity (a banned token), at least
 * one finite. NaN and +Infinity are BAD_ARGUMENT: they always mean a bug
 * upstream, and silently turning them into NaN probabilities would hide it.
 */
import { StreamLlmError, requireArg } from '../errors.js';

/** Throws BAD_ARGUMENT naming the first NaN/+Infinity entry. */
export function rejectBadLogit(value: number, index: number, field = 'logits'): never {
  throw new StreamLlmError('BAD_ARGUMENT', `${field}[${index}] is ${value}; logits must be finite or -Infinity`, {
    context: { field, index, actual: value },
    hint: 'a NaN or +Infinity logit usually means a numerical bug in the forward pass',
  });
}

/**
 * Index of the largest logit; ties go to the lowest index (what llama.cpp's
 * greedy sampler and llama2.c's argmax do, and what makes greedy decoding
 * reproducible). A row of all -Infinity returns 0. Throws BAD_ARGUMENT for
 * an empty row or a NaN entry.
 *
 * @example
 * argmax(new Float32Array([0.5, 2, 2, -1])); // 1
 */
export function argmax(logits: ArrayLike<number>): number {
  const n = logits.length;
  requireArg(n > 0, 'logits must not be empty', { field: 'logits', actual: n });
  let best = 0;
  let bestVal = logits[0]!;
  if (bestVal !== bestVal) rejectBadLogit(bestVal, 0);
  for (let i = 1; i < n; i++) {
    const v = logits[i]!;
    // strict > keeps the first of equal maxima
    if (v > bestVal) {
      bestVal = v;
      best = i;
    } else if (v !== v) {
      rejectBadLogit(v, i);
    }
  }
  return best;
}

/** Max over a validated row; throws on empty, NaN, +Infinity, all -Infinity. */
function checkedMax(logits: ArrayLike<number>): number {
  const n = logits.length;
  requireArg(n > 0, 'logits must not be empty', { field: 'logits', actual: n });
  let m = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[i]!;
    if (v !== v || v === Infinity) rejectBadLogit(v, i);
    if (v > m) m = v;
  }
  requireArg(m !== -Infinity, 'logits are all -Infinity: no token has any probability', {
    field: 'logits',
  });
  return m;
}

/**
 * log(sum(exp(logits))), the softmax normalizer. Perplexity wants exactly
 * this: -log p(target) = logSumExp(row) - row[target].
 *
 * @example
 * logSumExp([0, 0]); // Math.LN2
 */
export function logSumExp(logits: ArrayLike<number>): number {
  const m = checkedMax(logits);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - m);
  return m + Math.log(sum);
}

function checkOut(out: Float64Array | undefined, n: number): Float64Array {
  if (out === undefined) return new Float64Array(n);
  requireArg(out.length === n, `out has length ${out.length}, logits have ${n}`, {
    field: 'out',
    expected: n,
    actual: out.length,
  });
  return out;
}

/**
 * Probabilities exp(l_i) / sum_j exp(l_j) in float64. Writes into `out` when
 * given (same length as `logits`) so a hot loop can avoid allocating.
 *
 * @example
 * softmax([0, Math.log(3)]); // Float64Array [0.25, 0.75]
 */
export function softmax(logits: ArrayLike<number>, out?: Float64Array): Float64Array {
  const m = checkedMax(logits);
  const n = logits.length;
  const p = checkOut(out, n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(logits[i]! - m);
    p[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) p[i] = p[i]! * inv;
  return p;
}

/**
 * Log-probabilities l_i - logSumExp(l) in float64 (-Infinity stays
 * -Infinity). More accurate than log(softmax(l)) for tiny probabilities.
 *
 * @example
 * logSoftmax([0, 0]); // Float64Array [-0.693..., -0.693...]
 */
export function logSoftmax(logits: ArrayLike<number>, out?: Float64Array): Float64Array {
  const lse = logSumExp(logits);
  const n = logits.length;
  const r = checkOut(out, n);
  for (let i = 0; i < n; i++) r[i] = logits[i]! - lse;
  return r;
}
