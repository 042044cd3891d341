/**
 * The reference of Ops.attendHeads, written once on the other Ops methods:
 * per query head, scores over every run (dotRows, plus the ALiBi bias),
 * softmax, then the weighted sum of values (axpyRows). The scalar backend
 * runs exactly this; the wasm backend runs the same steps in one call
 * (asm/attention.ts) and must produce the same values.
 */
import { requireArg } from '../errors.js';
import type { AttentionShape, KvRun, Ops } from './types.js';

/** `scores` must hold the total key count of the runs. */
export function attendHeadsReference(
  ops: Ops,
  out: Float32Array,
  oOff: number,
  q: Float32Array,
  qOff: number,
  runs: readonly KvRun[],
  nRuns: number,
  shape: AttentionShape,
  scores: Float32Array,
): void {
  const d = shape.headDim;
  const group = shape.nHeads / shape.kvHeads;
  for (let i = 0; i < nRuns; i++) {
    const r = runs[i]!;
    requireArg((r.keys instanceof Uint16Array) === (r.values instanceof Uint16Array), "a run's keys and values must both be f32 or both f16", { field: 'runs' });
  }
  for (let h = 0; h < shape.nHeads; h++) {
    const kvHead = Math.floor(h / group);
    const qo = qOff + h * d;
    const oo = oOff + h * d;
    let total = 0;
    for (let i = 0; i < nRuns; i++) {
      const r = runs[i]!;
      if (r.count === 0) continue;
      ops.dotRows(scores, total, q, qo, r.keys, r.offset + kvHead * r.headStride, r.rowStride, r.count, d, shape.scale);
      const slopes = shape.alibiSlopes;
      if (slopes !== undefined) {
        // In float64, rounded once to f32 on store (asm/attention.ts does the same).
        const slope = slopes[h]!;
        for (let j = 0; j < r.count; j++) scores[total + j] = scores[total + j]! - slope * (r.firstDistance - j);
      }
      total += r.count;
    }
    ops.softmax(scores, 0, total);
    out.fill(0, oo, oo + d);
    total = 0;
    for (let i = 0; i < nRuns; i++) {
      const r = runs[i]!;
      if (r.count === 0) continue;
      ops.axpyRows(out, oo, scores, total, r.values, r.offset + kvHead * r.headStride, r.rowStride, r.count, d);
      total += r.count;
    }
  }
}

/** Total keys of the first nRuns runs. */
export function runKeys(runs: readonly KvRun[], nRuns: number): number {
  let n = 0;
  for (let i = 0; i < nRuns; i++) n += runs[i]!.count;
  return n;
}
