/**
 * Dense KV cache: every token, at its original position. Memory and per-token
 * time grow without bound, and past the training length the model breaks down
 * (the paper's "dense attention" baseline), so it refuses to go past
 * `contextLength` unless `allowOverflow` is set.
 */
import { StreamLlmError } from '../errors.js';
import type { AttentionShape, KvArray, Ops } from '../kernels/types.js';
import { allocKv, attendTokens, attentionShape, kvTypeOf, RangeView, Segment, segments, writeKv } from './attend.js';
import type { CacheGeometry, CacheStats, KvCache, KvType } from './types.js';

export interface DenseOptions {
  /** Continue past the model's training length (quality collapses; for experiments). */
  readonly allowOverflow?: boolean;
  /** Element type of the stored keys/values (default 'f32'). */
  readonly kvType?: KvType;
}

const INITIAL_SLOTS = 256;

export class DenseCache implements KvCache {
  readonly policy = 'dense' as const;
  private capacity = 0;
  // Per layer: (capacity, kvHeads, headDim), token-major; keys rotated at their positions.
  private keys: KvArray[] = [];
  private values: KvArray[] = [];
  private readonly seg = [new Segment()];
  private readonly batchSegs: Segment[] = [];
  // Views of the model's k/v batch rows for the f32 copy (decode: the same row every token).
  private readonly kView = new RangeView<Float32Array>();
  private readonly vView = new RangeView<Float32Array>();
  private readonly shape: AttentionShape;
  readonly kvType: KvType;
  private seen = 0;
  private pending = 0;

  constructor(
    readonly geometry: CacheGeometry,
    private readonly ops: Ops,
    private readonly opts: DenseOptions = {},
  ) {
    this.shape = attentionShape(geometry);
    this.kvType = kvTypeOf(opts.kvType);
  }

  get bytes(): number {
    const g = this.geometry;
    return 2 * g.layers * g.kvHeads * this.capacity * g.headDim * (this.kvType === 'f16' ? 2 : 4);
  }

  begin(n: number): void {
    const g = this.geometry;
    const need = this.seen + n;
    if (need > g.contextLength && this.opts.allowOverflow !== true) {
      throw new StreamLlmError(
        'CONTEXT_OVERFLOW',
        `dense cache holds ${this.seen} tokens and cannot take ${n} more: the model's training length is ${g.contextLength}`,
        {
          context: { expected: g.contextLength, actual: need },
          hint: 'use the sink policy (StreamingLLM) for endless input, or allow overflow to see dense attention break down',
        },
      );
    }
    this.grow(need);
    this.pending = n;
  }

  private grow(need: number): void {
    if (need <= this.capacity) return;
    const g = this.geometry;
    let cap = Math.max(this.capacity, INITIAL_SLOTS);
    while (cap < need) cap *= 2;
    if (this.opts.allowOverflow !== true) cap = Math.min(cap, Math.max(g.contextLength, need));
    const d = g.headDim;
    for (let l = 0; l < g.layers; l++) {
      const k = allocKv(this.ops, this.kvType, g.kvHeads * cap * d);
      const v = allocKv(this.ops, this.kvType, g.kvHeads * cap * d);
      const oldK = this.keys[l];
      const oldV = this.values[l];
      if (oldK !== undefined && oldV !== undefined) {
        // Token-major (slot, kvHead, d): the held prefix moves as one block.
        k.set(oldK.subarray(0, this.seen * g.kvHeads * d));
        v.set(oldV.subarray(0, this.seen * g.kvHeads * d));
        this.ops.free(oldK);
        this.ops.free(oldV);
      }
      this.keys[l] = k;
      this.values[l] = v;
    }
    this.capacity = cap;
  }

  attend(layer: number, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array): void {
    const g = this.geometry;
    const d = g.headDim;
    const n = this.pending;
    const K = this.keys[layer]!;
    const V = this.values[layer]!;
    const kvw = g.kvHeads * d;
    if (g.positional.kind === 'rope') {
      // The batch's tokens at their positions, one call each for keys and queries.
      this.ops.ropeBatch(k, 0, g.kvHeads, d, this.seen, g.positional.spec, n);
      this.ops.ropeBatch(q, 0, g.nHeads, d, this.seen, g.positional.spec, n);
    }
    if (K instanceof Uint16Array || V instanceof Uint16Array) {
      // A 16-bit cache: one rounding store per batch (rows are contiguous in both layouts).
      writeKv(this.ops, K, this.seen * kvw, k, 0, n * kvw);
      writeKv(this.ops, V, this.seen * kvw, v, 0, n * kvw);
    } else {
      // Token-major like the cache: one native copy per batch (a JS loop stays slow until V8 optimizes it), through
      // views that decode reuses every token.
      K.set(this.kView.of(k, 0, n * kvw), this.seen * kvw);
      V.set(this.vView.of(v, 0, n * kvw), this.seen * kvw);
    }
    if (n === 1) {
      this.seg[0]!.storage(K, V, g.kvHeads, d, 0, this.seen + 1, this.seen);
      this.ops.attendHeads(out, 0, q, 0, this.seg, 1, this.shape);
      return;
    }
    // A prefill batch: token t sees the cache up to itself, all in one call (threads split the tokens).
    if (K instanceof Uint16Array && V instanceof Uint16Array) {
      // A 16-bit cache: the batch's own rows are read as f32, from k and v overwritten with the halves just stored
      // widened back (the same values exactly; the f32 kernels take them in fewer instructions, and no buffer is
      // needed); earlier tokens come from the halves.
      this.ops.loadF16(k, 0, K, this.seen * kvw, n * kvw);
      this.ops.loadF16(v, 0, V, this.seen * kvw, n * kvw);
      const segs = segments(this.batchSegs, 2 * n);
      for (let t = 0; t < n; t++) {
        segs[2 * t]!.storage(K, V, g.kvHeads, d, 0, this.seen, this.seen + t);
        segs[2 * t + 1]!.batch(k, v, g.kvHeads, d, 0, t + 1, t);
      }
      attendTokens(this.ops, out, q, n, segs, 2, this.shape);
      return;
    }
    const segs = segments(this.batchSegs, n);
    for (let t = 0; t < n; t++) segs[t]!.storage(K, V, g.kvHeads, d, 0, this.seen + t + 1, this.seen + t);
    attendTokens(this.ops, out, q, n, segs, 1, this.shape);
  }

  end(): void {
    this.seen += this.pending;
    this.pending = 0;
  }

  reset(): void {
    this.seen = 0;
    this.pending = 0;
  }

  stats(): CacheStats {
    return {
      policy: 'dense',
      tokensSeen: this.seen,
      length: this.seen,
      capacity: this.opts.allowOverflow === true ? Infinity : this.geometry.contextLength,
      sinks: 0,
      windowFill: this.seen,
      evictions: 0,
    };
  }
}
