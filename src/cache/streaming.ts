/**
 * StreamingLLM (arXiv 2309.17453 §3.2): the first S tokens ("attention
 * sinks") plus a rolling window of the most recent W tokens, the current one
 * included. S = 0 gives plain window attention. Positions are assigned inside
 * the cache (0..n-1, query at n-1), as in the paper's reference, but computed
 * without its per-step re-rotation of the whole cache:
 *
 * With RoPE a score depends only on the distance between query and key. A
 * window key's in-cache distance to the query equals its distance in the
 * text, so window keys are rotated ONCE, at their text position, and live in
 * a ring buffer; the query is rotated at its text position. Only the sinks'
 * distances differ from the text, so their keys are kept un-rotated and
 * re-rotated per query to text position t - (n-1) + s. That is O(S) extra
 * work per step instead of O(cache). Angles are float64 (see kernels/rope.ts),
 * so positions in the millions stay exact. ALiBi uses the same distances.
 *
 * A batch of any length (even longer than the cache) is attended with a
 * banded causal mask: query j sees the sinks plus its own window, drawn from
 * the ring (older tokens) and from the batch itself (newer ones); only then
 * is the batch's tail written into the ring. The result equals feeding the
 * tokens one by one.
 */
import { StreamLlmError } from '../errors.js';
import type { AttentionShape, KvArray, Ops } from '../kernels/types.js';
import { allocKv, attendTokens, attentionShape, copyF32, kvTypeOf, RangeView, type Segment, segments, writeKv } from './attend.js';
import type { CacheGeometry, CacheStats, KvCache, KvType } from './types.js';

/**
 * Queries attended per call during a prefill (one Ops.attendBatch; threads
 * split them). Bounds the per-query copies of rotated sinks.
 */
const QUERY_BATCH = 32;
/** Runs per query: sinks, the ring (at most two runs) and the batch. */
const SEGS_PER_QUERY = 4;

export interface StreamingOptions {
  readonly policy: 'sink' | 'window';
  /** Attention-sink tokens kept from the start of the stream (0 for window). */
  readonly sinks: number;
  /** Most recent tokens kept, the current token included. */
  readonly window: number;
  /** Allow S + W beyond the model's training length (positions leave the trained range). */
  readonly allowOverflow?: boolean;
  /** Element type of the window's keys/values (default 'f32'); sinks stay f32 (a few rows). */
  readonly kvType?: KvType;
}

export class StreamingCache implements KvCache {
  readonly policy: 'sink' | 'window';
  private readonly S: number;
  private readonly W: number;
  // Per layer. Sinks: (S, kvHeads, headDim), keys NOT rotated. Ring: (W, kvHeads, headDim), keys rotated at text position.
  private readonly sinkK: Float32Array[] = [];
  private readonly sinkV: Float32Array[] = [];
  private readonly ringK: KvArray[] = [];
  private readonly ringV: KvArray[] = [];
  readonly kvType: KvType;
  // A 16-bit cache attends to the batch's own keys/values rounded as the ring will hold them, so a batch gives
  // the same result as its tokens fed one by one (grown to the largest batch; unused with f32).
  private batchK: Uint16Array = new Uint16Array(0);
  private batchV: Uint16Array = new Uint16Array(0);
  private readonly ringSrcK = new RangeView<Uint16Array>();
  private readonly ringSrcV = new RangeView<Uint16Array>();
  // Per query of a sub-batch (QUERY_BATCH, S, kvHeads, headDim): the sinks' keys rotated for that query, and a
  // copy of their values beside them (a run has one offset for both).
  private readonly sinkRot: Float32Array;
  private readonly sinkRotV: Float32Array;
  private readonly shape: AttentionShape;
  /** SEGS_PER_QUERY per query of a sub-batch (unused ones empty). */
  private readonly segs: Segment[] = [];
  private seen = 0;
  private pending = 0;

  constructor(
    readonly geometry: CacheGeometry,
    private readonly ops: Ops,
    opts: StreamingOptions,
  ) {
    const { sinks, window } = opts;
    if (!(Number.isInteger(sinks) && sinks >= 0 && sinks <= 1 << 20)) {
      throw new StreamLlmError('BAD_ARGUMENT', `sinks must be an integer ≥ 0, got ${sinks}`, { context: { field: 'sinks', actual: sinks } });
    }
    if (!(Number.isInteger(window) && window >= 1 && window <= 1 << 24)) {
      throw new StreamLlmError('BAD_ARGUMENT', `window must be an integer ≥ 1, got ${window}`, { context: { field: 'window', actual: window } });
    }
    if (sinks + window > geometry.contextLength && opts.allowOverflow !== true) {
      throw new StreamLlmError(
        'CONTEXT_OVERFLOW',
        `a cache of ${sinks} sinks + ${window} window tokens exceeds the model's training length ${geometry.contextLength}`,
        {
          context: { field: 'window', expected: geometry.contextLength, actual: sinks + window },
          hint: `use --window ${Math.max(1, geometry.contextLength - sinks)} or less, so in-cache positions stay in the trained range`,
        },
      );
    }
    this.policy = opts.policy;
    this.S = sinks;
    this.W = window;
    const g = geometry;
    const kvw = g.kvHeads * g.headDim;
    this.kvType = kvTypeOf(opts.kvType);
    for (let l = 0; l < g.layers; l++) {
      this.sinkK.push(ops.allocF32(sinks * kvw));
      this.sinkV.push(ops.allocF32(sinks * kvw));
      this.ringK.push(allocKv(ops, this.kvType, window * kvw));
      this.ringV.push(allocKv(ops, this.kvType, window * kvw));
    }
    this.sinkRot = ops.allocF32(QUERY_BATCH * sinks * kvw);
    this.sinkRotV = ops.allocF32(QUERY_BATCH * sinks * kvw);
    this.shape = attentionShape(geometry);
  }

  get bytes(): number {
    const kvw = this.geometry.kvHeads * this.geometry.headDim;
    const ring = 2 * this.geometry.layers * this.W * kvw * (this.kvType === 'f16' ? 2 : 4);
    return ring + (2 * this.geometry.layers * this.S + 2 * QUERY_BATCH * this.S) * kvw * 4 + (this.batchK.length + this.batchV.length) * 2;
  }

  begin(n: number): void {
    this.pending = n;
  }

  attend(layer: number, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array): void {
    const g = this.geometry;
    const { S, W } = this;
    const d = g.headDim;
    const kvw = g.kvHeads * d;
    const qw = g.nHeads * d;
    const m = this.pending;
    const t0 = this.seen;
    const sinkK = this.sinkK[layer]!;
    const sinkV = this.sinkV[layer]!;
    const ringK = this.ringK[layer]!;
    const ringV = this.ringV[layer]!;
    const rope = g.positional.kind === 'rope' ? g.positional.spec : undefined;

    // 1. Batch tokens that are sinks keep their un-rotated keys (they never leave).
    for (let j = 0; j < m && t0 + j < S; j++) {
      copyF32(sinkK, (t0 + j) * kvw, k, j * kvw, kvw);
      copyF32(sinkV, (t0 + j) * kvw, v, j * kvw, kvw);
    }
    // 2. Batch keys and queries rotate at their text positions.
    if (rope !== undefined) {
      this.ops.ropeBatch(k, 0, g.kvHeads, d, t0, rope, m);
      this.ops.ropeBatch(q, 0, g.nHeads, d, t0, rope, m);
    }
    // The batch as the window sees it: rounded like the ring in a 16-bit cache.
    let bk: KvArray = k;
    let bv: KvArray = v;
    if (this.kvType === 'f16' && m > 0 && t0 + m > S) {
      if (this.batchK.length < m * kvw) {
        if (this.batchK.length > 0) {
          this.ops.free(this.batchK);
          this.ops.free(this.batchV);
        }
        this.batchK = this.ops.allocF16(m * kvw);
        this.batchV = this.ops.allocF16(m * kvw);
      }
      this.ops.storeF16(this.batchK, 0, k, 0, m * kvw);
      this.ops.storeF16(this.batchV, 0, v, 0, m * kvw);
      bk = this.batchK;
      bv = this.batchV;
    }
    // 3. Each query over sinks + its own window (ring part, then batch part), QUERY_BATCH queries per call.
    for (let jb = 0; jb < m; jb += QUERY_BATCH) {
      const nq = Math.min(QUERY_BATCH, m - jb);
      const segs = segments(this.segs, nq * SEGS_PER_QUERY);
      for (let i = 0; i < nq; i++) {
        const j = jb + i;
        const t = t0 + j;
        const n = Math.min(t + 1, S + W); // tokens held at this query, itself included
        const ns = Math.min(S, t + 1);
        let nseg = i * SEGS_PER_QUERY;
        if (ns > 0) {
          if (rope !== undefined) {
            // Sink s sits at in-cache position s; the query at n-1 is rotated at t.
            const o = i * S * kvw;
            copyF32(this.sinkRot, o, sinkK, 0, ns * kvw);
            this.ops.ropeBatch(this.sinkRot, o, g.kvHeads, d, t - (n - 1), rope, ns);
            // Query 0's copy starts at 0, where the values do: only later queries need theirs copied (decode never does).
            if (i > 0) copyF32(this.sinkRotV, o, sinkV, 0, ns * kvw);
            segs[nseg++]!.batch(this.sinkRot, i > 0 ? this.sinkRotV : sinkV, g.kvHeads, d, i * S, ns, n - 1);
          } else {
            segs[nseg++]!.batch(sinkK, sinkV, g.kvHeads, d, 0, ns, n - 1);
          }
        }
        if (t >= S) {
          const lo = Math.max(S, t - W + 1);
          if (lo < t0) {
            // Older window tokens [lo, t0) live in the ring at slot (p - S) mod W: at most two runs.
            const count = t0 - lo;
            const a = (lo - S) % W;
            const first = Math.min(count, W - a);
            segs[nseg++]!.storage(ringK, ringV, g.kvHeads, d, a, first, t - lo);
            if (count > first) segs[nseg++]!.storage(ringK, ringV, g.kvHeads, d, 0, count - first, t - lo - first);
          }
          const b0 = Math.max(lo, t0) - t0;
          segs[nseg++]!.batch(bk, bv, g.kvHeads, d, b0, j - b0 + 1, t - t0 - b0);
        }
        while (nseg < (i + 1) * SEGS_PER_QUERY) segs[nseg++]!.batch(bk, bv, g.kvHeads, d, 0, 0, 0);
      }
      attendTokens(this.ops, out, q, nq, segs, SEGS_PER_QUERY, this.shape, jb * qw);
    }
    // 4. Only now may the batch overwrite the ring: its last W non-sink tokens, in at most two runs of slots (the
    // ring wraps once); a 16-bit ring takes the halves already made for step 3.
    let j = Math.max(0, m - W, S - t0);
    while (j < m) {
      const slot = (t0 + j - S) % W;
      const count = Math.min(m - j, W - slot);
      if (ringK instanceof Uint16Array && ringV instanceof Uint16Array) {
        ringK.set(this.ringSrcK.of(this.batchK, j * kvw, count * kvw), slot * kvw);
        ringV.set(this.ringSrcV.of(this.batchV, j * kvw, count * kvw), slot * kvw);
      } else {
        writeKv(this.ops, ringK, slot * kvw, k, j * kvw, count * kvw);
        writeKv(this.ops, ringV, slot * kvw, v, j * kvw, count * kvw);
      }
      j += count;
    }
  }

  end(): void {
    this.seen += this.pending;
    this.pending = 0;
  }

  reset(): void {
    this.seen = 0;
    this.pending = 0;
  }

  /** Text positions (0-based stream indices) of the tokens held, in in-cache order. */
  heldTextPositions(): number[] {
    const t = this.seen - 1;
    const out: number[] = [];
    for (let s = 0; s < Math.min(this.S, this.seen); s++) out.push(s);
    if (t >= this.S) for (let p = Math.max(this.S, t - this.W + 1); p <= t; p++) out.push(p);
    return out;
  }

  stats(): CacheStats {
    const { S, W, seen } = this;
    return {
      policy: this.policy,
      tokensSeen: seen,
      length: Math.min(seen, S + W),
      capacity: S + W,
      sinks: Math.min(S, seen),
      windowFill: Math.min(W, Math.max(0, seen - S)),
      evictions: Math.max(0, seen - S - W),
    };
  }
}
