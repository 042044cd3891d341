/**
 * What the cache policies share for attention: runs of keys/values
 * ("segments") described for Ops.attendHeads, which does the math (all
 * query heads of a token, with the ALiBi bias the policy's distances imply).
 * Policies decide *which* segments and *which* positions.
 */
import type { AttentionShape, KvRun, Ops } from '../kernels/types.js';
import type { CacheGeometry } from './types.js';

/**
 * A run of keys/values. Mutable and reused by the policies: the decode hot
 * path allocates nothing per token, so an endless stream does not churn the
 * garbage collector (and RSS stays flat).
 */
export class Segment implements KvRun {
  keys: Float32Array = EMPTY;
  values: Float32Array = EMPTY;
  /** Element offset of the segment's first row for kv head 0. */
  offset = 0;
  /** Elements between kv heads. */
  headStride = 0;
  /** Elements between consecutive rows (keys) of one head. */
  rowStride = 0;
  count = 0;
  /**
   * Distance (query position - key position) of the segment's first key;
   * later keys are one closer each. Used only by ALiBi.
   */
  firstDistance = 0;

  /**
   * A run of slots in (capacity, kvHeads, headDim) storage. Token-major, as
   * the batches: attention streams a layer's cache front to back in one
   * pass (asm/attention.ts).
   */
  storage(keys: Float32Array, values: Float32Array, kvHeads: number, headDim: number, start: number, count: number, firstDistance: number): this {
    return this.batch(keys, values, kvHeads, headDim, start, count, firstDistance);
  }

  /** A run of tokens in a (n, kvHeads, headDim) batch buffer, as the model hands them over. */
  batch(keys: Float32Array, values: Float32Array, kvHeads: number, headDim: number, start: number, count: number, firstDistance: number): this {
    const row = kvHeads * headDim;
    return this.set(keys, values, start * row, headDim, row, count, firstDistance);
  }

  private set(keys: Float32Array, values: Float32Array, offset: number, headStride: number, rowStride: number, count: number, firstDistance: number): this {
    this.keys = keys;
    this.values = values;
    this.offset = offset;
    this.headStride = headStride;
    this.rowStride = rowStride;
    this.count = count;
    this.firstDistance = firstDistance;
    return this;
  }
}

const EMPTY = new Float32Array(0);

/** Copy `n` floats (no subarray views: nothing allocated on the hot path). */
export function copyF32(dst: Float32Array, dstOff: number, src: Float32Array, srcOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** What Ops.attendHeads needs to know of a cache's geometry (made once per cache). */
export function attentionShape(g: CacheGeometry): AttentionShape {
  return {
    nHeads: g.nHeads,
    kvHeads: g.kvHeads,
    headDim: g.headDim,
    scale: g.scale,
    ...(g.positional.kind === 'alibi' ? { alibiSlopes: g.positional.slopes } : {}),
  };
}

/**
 * Attention for n consecutive query tokens (a prefill batch), token t over
 * runs[t·nRuns ..), queries and outputs from element `off`: Ops.attendBatch
 * where the backend has it (one call; threads split the tokens), else one
 * attendHeads per token.
 */
export function attendTokens(ops: Ops, out: Float32Array, q: Float32Array, n: number, runs: readonly KvRun[], nRuns: number, shape: AttentionShape, off = 0): void {
  if (ops.attendBatch !== undefined) {
    ops.attendBatch(out, off, q, off, n, runs, nRuns, shape);
    return;
  }
  const w = shape.nHeads * shape.headDim;
  if (n === 1) {
    ops.attendHeads(out, off, q, off, runs, nRuns, shape); // reads the first nRuns runs: no copy on the decode path
    return;
  }
  // One reused array for token t's runs (prefills should not churn the heap either).
  tokenRuns.length = nRuns;
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < nRuns; i++) tokenRuns[i] = runs[t * nRuns + i]!;
    ops.attendHeads(out, off + t * w, q, off + t * w, tokenRuns, nRuns, shape);
  }
}

const tokenRuns: KvRun[] = [];

/** `need` Segments, reusing (and growing) `pool`: a batch's runs without allocating per call. */
export function segments(pool: Segment[], need: number): Segment[] {
  while (pool.length < need) pool.push(new Segment());
  return pool;
}
