/**
 * What the cache policies share for attention: runs of keys/values
 * ("segments") described for Ops.attendHeads, which does the math (all
 * query heads of a token, with the ALiBi bias the policy's distances imply).
 * Policies decide *which* segments and *which* positions.
 */
import { StreamLlmError } from '../errors.js';
import type { AttentionShape, KvArray, KvRun, Ops } from '../kernels/types.js';
import { DEFAULT_KV_TYPE, KV_TYPES, type CacheGeometry, type KvType } from './types.js';

/**
 * A run of keys/values. Mutable and reused by the policies: the decode hot
 * path allocates nothing per token, so an endless stream does not churn the
 * garbage collector (and RSS stays flat).
 */
export class Segment implements KvRun {
  keys: KvArray = EMPTY;
  values: KvArray = EMPTY;
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
  storage(keys: KvArray, values: KvArray, kvHeads: number, headDim: number, start: number, count: number, firstDistance: number): this {
    return this.batch(keys, values, kvHeads, headDim, start, count, firstDistance);
  }

  /** A run of tokens in a (n, kvHeads, headDim) batch buffer, as the model hands them over. */
  batch(keys: KvArray, values: KvArray, kvHeads: number, headDim: number, start: number, count: number, firstDistance: number): this {
    const row = kvHeads * headDim;
    return this.set(keys, values, start * row, headDim, row, count, firstDistance);
  }

  private set(keys: KvArray, values: KvArray, offset: number, headStride: number, rowStride: number, count: number, firstDistance: number): this {
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

/**
 * A subarray view kept while the same range of the same memory is asked for
 * again (decode asks for the same row every token), so copying through it
 * allocates nothing per step.
 */
export class RangeView<T extends Float32Array | Uint16Array> {
  private v: T | undefined;

  of(a: T, off: number, n: number): T {
    const v = this.v;
    if (v !== undefined && v.buffer === a.buffer && v.byteOffset === a.byteOffset + off * a.BYTES_PER_ELEMENT && v.length === n) return v;
    return (this.v = a.subarray(off, off + n) as T);
  }
}

/** KV storage of n elements of `type`, from the backend (so kernels address it in place). */
export function allocKv(ops: Ops, type: KvType, n: number): KvArray {
  return type === 'f16' ? ops.allocF16(n) : ops.allocF32(n);
}

/** dst[dOff ..+n) = src[sOff ..+n): a plain copy into f32 storage, a rounding store (Ops.storeF16) into f16. */
export function writeKv(ops: Ops, dst: KvArray, dOff: number, src: Float32Array, sOff: number, n: number): void {
  if (dst instanceof Uint16Array) ops.storeF16(dst, dOff, src, sOff, n);
  else copyF32(dst, dOff, src, sOff, n);
}

/** Validates a cache's kvType option (default 'f32'). */
export function kvTypeOf(type: KvType | undefined): KvType {
  const t = type ?? DEFAULT_KV_TYPE;
  if (!KV_TYPES.includes(t)) {
    throw new StreamLlmError('BAD_ARGUMENT', `kvType must be one of ${KV_TYPES.join(', ')}, got '${String(type)}'`, { context: { field: 'kvType', actual: String(type) } });
  }
  return t;
}

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
