/**
 * WasmOps.attendHeads / attendBatch: run descriptors written into wasm
 * memory, then all heads in one call (asm/attention.ts), split across the
 * threads by head (one token) or by token (a batch) when the work is big
 * enough. The same kernels as dotRows, softmax and
 * axpyRows, so the values equal attendHeadsReference's.
 */
import { requireArg } from '../../errors.js';
import type { AttentionShape, KvArray, KvRun } from '../types.js';
import type { WasmHeap } from './heap.js';
import type { KernelExports } from './module.js';
import type { ThreadPool } from './pool.js';
import { Region, type Staging } from './staging.js';

/** i32 words per run descriptor (asm/attention.ts RUN_WORDS). */
const RUN_WORDS = 7;
/** The descriptor's element-type word: asm/attention.ts RUN_F16. */
const RUN_F16 = 1;
/** max |a[off ..+n)|; NaN if any is NaN (which then takes the widened path). */
function maxAbs(a: Float32Array, off: number, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.abs(a[off + i]!);
    if (!(v <= m)) m = v;
  }
  return m;
}

/** f32 -> its bit pattern, for the scale argument word of OP_ATTEND. */
const F32_BITS = new Float32Array(1);
const I32_OF_F32 = new Int32Array(F32_BITS.buffer);

export class WasmAttention {
  private readonly runs: Region;
  private readonly scores: Region;
  private runView: Int32Array | undefined;

  constructor(
    private readonly k: KernelExports,
    private readonly heap: WasmHeap,
    private readonly pool: ThreadPool | undefined,
    private readonly minParallelWork: number,
  ) {
    this.runs = new Region(heap);
    this.scores = new Region(heap);
  }

  /**
   * Ops.attendHeads (n = 1) and Ops.attendBatch (n tokens, nRuns runs each);
   * `st` is the caller's staging (finished by the caller).
   */
  run(st: Staging, out: Float32Array, oOff: number, q: Float32Array, qOff: number, n: number, runs: readonly KvRun[], nRuns: number, shape: AttentionShape): void {
    const { nHeads, kvHeads, headDim: d } = shape;
    // Checked before building any message: this runs per token and layer, and allocates nothing when all is well.
    if (!(Number.isInteger(nHeads / kvHeads) && nHeads > 0)) requireArg(false, `nHeads ${nHeads} is not a multiple of kvHeads ${kvHeads}`, { field: 'kvHeads' });
    if (!(Number.isInteger(n) && n >= 1 && runs.length >= n * nRuns)) requireArg(false, `attention over ${n} tokens needs ${n} x ${nRuns} runs, got ${runs.length}`, { field: 'runs' });
    let most = 0;
    let work = 0;
    const words = this.runWords(n * nRuns);
    for (let t = 0; t < n; t++) {
      let total = 0;
      for (let i = 0; i < nRuns; i++) {
        const r = runs[t * nRuns + i]!;
        total += r.count;
        const o = (t * nRuns + i) * RUN_WORDS;
        const span = r.count === 0 ? 0 : (r.count - 1) * r.rowStride + (kvHeads - 1) * r.headStride + d;
        const f16 = r.keys instanceof Uint16Array;
        if (f16 !== r.values instanceof Uint16Array) requireArg(false, 'a run\'s keys and values must both be f32 or both f16', { field: 'runs' });
        words[o] = r.count === 0 ? 0 : st.kv(r.keys, r.offset, span, 'keys');
        words[o + 1] = r.count === 0 ? 0 : st.kv(r.values, r.offset, span, 'values');
        words[o + 2] = r.headStride;
        words[o + 3] = r.rowStride;
        words[o + 4] = r.count;
        words[o + 5] = r.firstDistance;
        words[o + 6] = f16 ? RUN_F16 : 0;
      }
      most = Math.max(most, total);
      work += total;
    }
    const qp = st.f32(q, qOff, n * nHeads * d, 'in', 'q');
    const op = st.f32(out, oOff, n * nHeads * d, 'out', 'out');
    const slopes = shape.alibiSlopes !== undefined ? st.f32(shape.alibiSlopes, 0, nHeads, 'in', 'alibiSlopes') : 0;
    const runsPtr = words.byteOffset;
    // Bytes of scores per head; each thread has one slot more, scratch for 4 widened rows (asm/attention.ts).
    const hs = Math.max(Math.ceil((most * 4) / 64) * 64 + 64, Math.ceil((16 * d) / 64) * 64);
    const group = nHeads / kvHeads;
    const threads = this.pool?.threads ?? 1;
    F32_BITS[0] = shape.scale;
    if (threads === 1 || work * nHeads * d < this.minParallelWork || (n === 1 && nHeads === 1)) {
      const scores = this.scores.ensure(hs * (nHeads + 1));
      const tokenBytes = nHeads * d * 4;
      for (let t = 0; t < n; t++) {
        this.k.attendHeads(op + t * tokenBytes, qp + t * tokenBytes, nHeads, kvHeads, d, shape.scale, runsPtr + t * nRuns * RUN_WORDS * 4, nRuns, scores, hs, slopes);
      }
      return;
    }
    if (n > 1) {
      // A prefill: threads claim whole tokens (asm/exec.ts); splitting each short token by heads did not pay.
      this.pool!.attend([op, qp, nHeads, group, d, I32_OF_F32[0]!, runsPtr, nRuns, this.scores.ensure(hs * (nHeads + 1) * threads), hs, slopes, nHeads, n]);
      return;
    }
    // Each thread claims chunks of heads (whole kv groups when they divide evenly, so a chunk shares its rows).
    let chunk = Math.ceil(nHeads / threads);
    if (group > 1 && chunk % group !== 0 && nHeads / threads >= group) chunk = Math.ceil(chunk / group) * group;
    const scores = this.scores.ensure(hs * (chunk + 1) * threads);
    this.pool!.attend([op, qp, nHeads, group, d, I32_OF_F32[0]!, runsPtr, nRuns, scores, hs, slopes, chunk, 1]);
  }

  /** Ops.dotRows over f32 or f16 keys; `st` is finished by the caller. */
  dotRows(st: Staging, scores: Float32Array, sOff: number, q: Float32Array, qOff: number, keys: KvArray, kOff: number, stride: number, count: number, d: number, scale: number): void {
    if (count <= 0) return;
    const kp = st.kv(keys, kOff, (count - 1) * stride + d, 'keys');
    const qp = st.f32(q, qOff, d, 'in', 'q');
    const sp = st.f32(scores, sOff, count, 'out', 'scores');
    if (keys instanceof Uint16Array) this.k.dotRowsH(sp, qp, kp, stride, count, d, scale);
    else this.k.dotRows(sp, qp, kp, stride, count, d, scale);
  }

  /** Ops.axpyRows over f32 or f16 values; `st` is finished by the caller. */
  axpyRows(st: Staging, out: Float32Array, oOff: number, w: Float32Array, wOff: number, values: KvArray, vOff: number, stride: number, count: number, d: number): void {
    if (count <= 0) return;
    const span = (count - 1) * stride + d;
    const vp = st.kv(values, vOff, span, 'values');
    const wp = st.f32(w, wOff, count, 'in', 'w');
    const op = st.f32(out, oOff, d, 'inout', 'out');
    if (!(values instanceof Uint16Array)) {
      this.k.axpyRows(op, wp, vp, stride, count, d);
    } else if (maxAbs(w, wOff, count) < 65536) {
      this.k.axpyRowsH(op, wp, vp, stride, count, d);
    } else {
      // The f16 kernel lets each weight carry a factor 2^112 (asm/half-kv.ts), finite below 2^16 (attention's
      // softmax weights always are); larger weights go through the values widened to f32.
      const wide = st.scratch(span * 4);
      this.k.loadF16(wide, vp, span);
      this.k.axpyRows(op, wp, wide, stride, count, d);
    }
  }

  /** Ops.storeF16 (asm/half-kv.ts); `st` is finished by the caller. */
  storeF16(st: Staging, dst: Uint16Array, dOff: number, src: Float32Array, sOff: number, n: number): void {
    if (n <= 0) return;
    // A 16-bit cache lives in this memory (allocF16) and is written in place; any other array through a copy.
    const owned = this.heap.owns(dst);
    if (!(Number.isInteger(dOff) && dOff >= 0 && dOff + n <= dst.length)) {
      requireArg(false, `storeF16: elements ${dOff}..${dOff + n} are outside an array of ${dst.length}`, { field: 'dst' });
    }
    const dp = owned ? dst.byteOffset + dOff * 2 : st.f16(dst, dOff, n, 'dst');
    this.k.storeF16(dp, st.f32(src, sOff, n, 'in', 'src'), n);
    if (!owned) dst.set(this.heap.u16(dp, n), dOff);
  }

  /** Ops.loadF16 (asm/half-kv.ts); `st` is finished by the caller. */
  loadF16(st: Staging, dst: Float32Array, dOff: number, src: Uint16Array, sOff: number, n: number): void {
    if (n <= 0) return;
    this.k.loadF16(st.f32(dst, dOff, n, 'out', 'dst'), st.f16(src, sOff, n, 'src'), n);
  }

  /** An Int32Array over the run descriptors' region, remade only when the region moves (no garbage per call). */
  private runWords(nRuns: number): Int32Array {
    const n = Math.max(4, nRuns) * RUN_WORDS;
    const ptr = this.runs.ensure(n * 4);
    if (this.runView === undefined || this.runView.byteOffset !== ptr || this.runView.length < nRuns * RUN_WORDS) {
      this.runView = this.heap.i32(ptr, n);
    }
    return this.runView;
  }
}
