/** llm.c-style tensor comparison: max-abs-diff with the worst location, for clear failure messages. */
export interface DiffReport {
  maxAbsDiff: number;
  /** Index of the worst element. */
  at: number;
  ours: number;
  ref: number;
}

export function maxAbsDiff(ours: ArrayLike<number>, ref: ArrayLike<number>): DiffReport {
  if (ours.length !== ref.length) throw new Error(`length mismatch: ours ${ours.length}, reference ${ref.length}`);
  let worst: DiffReport = { maxAbsDiff: 0, at: -1, ours: NaN, ref: NaN };
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i]! - ref[i]!);
    if (!(d <= worst.maxAbsDiff)) worst = { maxAbsDiff: Number.isNaN(d) ? Infinity : d, at: i, ours: ours[i]!, ref: ref[i]! };
  }
  return worst;
}

/** Softmax in float64 (the probabilities llama.cpp reports are softmax of raw logits). */
export function softmax64(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < p.length; i++) p[i] = p[i]! / sum;
  return p;
}
