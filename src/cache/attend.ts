/**
 * Shared attention arithmetic for the cache policies: one query head against
 * a contiguous run of cached keys/values ("segment"), with the positional
 * bias the policy's positions imply. Policies decide *which* segments and
 * *which* positions; this file only does the math through the kernel seam.
 */
import type { Ops } from '../kernels/types.js';
import type { CacheGeometry } from './types.js';

export interface Segment {
  /** (kvHeads, capacity, headDim) storage; the segment starts at slot `start`. */
  readonly keys: Float32Array;
  readonly values: Float32Array;
  /** Slots per kv head in the storage. */
  readonly capacity: number;
  readonly start: number;
  readonly count: number;
  /**
   * Distance (query position - key position) of the segment's first key;
   * later keys are one closer each. Used only by ALiBi.
   */
  readonly firstDistance: number;
}

/**
 * out[oOff..+headDim) = softmax(scale * q·K + bias) · V over all segments.
 * `scores` must hold at least the total key count.
 */
export function attendHead(
  ops: Ops,
  g: CacheGeometry,
  head: number,
  q: Float32Array,
  qOff: number,
  segments: readonly Segment[],
  scores: Float32Array,
  out: Float32Array,
  oOff: number,
): void {
  const d = g.headDim;
  const kvHead = Math.floor(head / (g.nHeads / g.kvHeads));
  let total = 0;
  for (const s of segments) {
    const base = (kvHead * s.capacity + s.start) * d;
    ops.dotRows(scores, total, q, qOff, s.keys, base, d, s.count, d, g.scale);
    if (g.positional.kind === 'alibi') {
      const slope = g.positional.slopes[head]!;
      for (let j = 0; j < s.count; j++) scores[total + j] = scores[total + j]! - slope * (s.firstDistance - j);
    }
    total += s.count;
  }
  ops.softmax(scores, 0, total);
  out.fill(0, oOff, oOff + d);
  total = 0;
  for (const s of segments) {
    const base = (kvHead * s.capacity + s.start) * d;
    ops.axpyRows(out, oOff, scores, total, s.values, base, d, s.count, d);
    total += s.count;
  }
}
