/**
 * WasmOps: the `Ops` seam on the SIMD WebAssembly kernels of asm/.
 *
 * Weights (alloc) and activations/KV cache/scratch (allocF32) are views into
 * one shared WebAssembly.Memory, so the kernels read them in place: nothing
 * is copied per call, and a model's weights exist once (no JS-heap copy).
 * Matmuls big enough to amortise a handoff run on the thread pool; every
 * other op runs on the calling thread. Integer weights multiply activations
 * quantized once per call exactly as ggml quantizes them (Q8_0 blocks for
 * Q8_0/Q4_0, Q8_K for Q4_K/Q6_K; asm/act.ts), as llama.cpp does at every
 * batch size. Matvecs (decode) take integer kernels with ggml's x86
 * summation order (asm/quant.ts, kquant.ts), so decode computes what
 * llama.cpp computes; prefill (n > 1) runs f32 panels (asm/float.ts) on the
 * quantized activations decoded back to f32, which costs nothing
 * measurable. q8Activations 'decode' keeps prefill on the exact
 * activations, 'never' matvecs too. Float weights always compute in f32.
 */
import { availableParallelism } from 'node:os';
import { StreamLlmError, requireArg } from '../../errors.js';
import { GgmlType, rowBytes, typeName } from '../../tensor/dtype.js';
import { halfTableF32 } from '../../tensor/half.js';
import { quantizesActivations, type AttentionShape, type KvArray, type KvRun, type Ops, type Q8Activations, type RopeSpec, type WeightMatrix } from '../types.js';
import { ACT_GRID, QuantizedActivations } from './activations.js';
import { WasmAttention } from './attention.js';
import { CTL_WORDS } from './control.js';
import { MAX_WASM_BYTES, WasmHeap } from './heap.js';
import { instantiate, kernelModule, resolveKernelVariant, type KernelChoice, type KernelExports, type KernelVariant } from './module.js';
import { ThreadPool, type WorkerFault } from './pool.js';
import { RopeTable } from './rope-table.js';
import { Region, Staging } from './staging.js';

export interface WasmOpsOptions {
  /** Threads for matmuls, the calling thread included; default os.availableParallelism(). */
  readonly threads?: number;
  /** Ceiling of the wasm memory (default and maximum 4 GiB: wasm32's limit). */
  readonly maxMemoryBytes?: number;
  /** Matmuls with fewer rows·cols·tokens multiply-adds stay on the calling thread. */
  readonly minParallelWork?: number;
  /** How long a thread spins for the next handoff before sleeping (µs). */
  readonly spinMicros?: number;
  /** A worker that makes no progress for this long is declared dead (ms). */
  readonly stallTimeoutMs?: number;
  /**
   * Which build of the kernels: 'simd' (SIMD128 only), 'relaxed' (with the
   * relaxed-SIMD paths; a typed error where the engine lacks them) or
   * 'auto' (relaxed where available). Default: env STREAMLLM_SIMD, else 'auto'.
   * On Node 20, relaxed turns on V8's --experimental-wasm-relaxed-simd.
   */
  readonly simd?: KernelChoice;
  /** A precompiled kernel module (otherwise the chosen build is loaded once per process); `simd` then only names it. */
  readonly module?: WebAssembly.Module;
  /** Whether integer-weight matmuls quantize the activations as ggml does (default 'always'; see Q8Activations). */
  readonly q8Activations?: Q8Activations;
}

/** Elements from which swiglu runs on all threads (a 16-token batch of a 2048-wide MLP; decode stays on one). */
const SWIGLU_PARALLEL = 32768;

/**
 * WeightMatrix.layout of matrices adoptWeight interleaved (asm/packed.ts),
 * per kernel build (the relaxed build lays Q4_0 out its own way), and the
 * kernels' type flag for it.
 */
export const PACKED_LAYOUT: Readonly<Record<KernelVariant, string>> = { simd: 'wasm-interleaved', relaxed: 'wasm-interleaved-relaxed' };
const PACKED = 0x100;

/** Types the wasm matmul/getRows compute with. */
export const WASM_TYPES: ReadonlySet<GgmlType> = new Set([
  GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K,
]);

/**
 * Create the SIMD WebAssembly backend.
 * @example
 * using ops = await createWasmOps({ threads: 2 });
 * const m = loadModel('model.gguf', { ops });
 */
export async function createWasmOps(opts: WasmOpsOptions = {}): Promise<WasmOps> {
  const threads = opts.threads ?? availableParallelism();
  requireArg(Number.isInteger(threads) && threads >= 1 && threads <= 256, `threads must be an integer in 1..256, got ${threads}`, { field: 'threads' });
  const maxBytes = opts.maxMemoryBytes ?? MAX_WASM_BYTES;
  requireArg(maxBytes > 0 && maxBytes <= MAX_WASM_BYTES, `maxMemoryBytes must be in 1..${MAX_WASM_BYTES}`, { field: 'maxMemoryBytes' });
  const variant = opts.module === undefined ? await resolveKernelVariant(opts.simd) : (opts.simd === 'relaxed' ? 'relaxed' : 'simd');
  const module = opts.module ?? (await kernelModule(variant));
  // Instantiate once on a throwaway memory just to learn where the heap may start.
  const probe = instantiate(module, new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }));
  const heap = new WasmHeap(probe.heapBase() >>> 0, maxBytes);
  const k = instantiate(module, heap.memory);
  const ctlPtr = heap.alloc(CTL_WORDS * 4);
  const halfTable = heap.alloc(65536 * 4);
  heap.f32(halfTable, 65536).set(halfTableF32());
  k.setHalfTable(halfTable);
  const pool =
    threads > 1
      ? await ThreadPool.create(k, module, heap.memory, ctlPtr, heap.i32(ctlPtr, CTL_WORDS), threads, {
          spinMicros: opts.spinMicros ?? 1000,
          stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
          halfTable,
        })
      : undefined;
  const q8 = opts.q8Activations ?? 'always';
  requireArg(q8 === 'never' || q8 === 'decode' || q8 === 'always', `q8Activations must be 'never', 'decode' or 'always', got ${String(q8)}`, { field: 'q8Activations' });
  return new WasmOps(k, heap, pool, opts.minParallelWork ?? 1 << 16, q8, variant);
}

export class WasmOps implements Ops, Disposable {
  readonly name: string;
  readonly threads: number;
  private readonly staging: Staging;
  private readonly act: QuantizedActivations;
  private readonly scratch: Region;
  private readonly ropeTable: RopeTable;
  private readonly attention: WasmAttention;
  private closed = false;

  /** Use createWasmOps(). */
  constructor(
    private readonly k: KernelExports,
    private readonly heap: WasmHeap,
    private readonly pool: ThreadPool | undefined,
    private readonly minParallelWork: number,
    readonly q8Activations: Q8Activations = 'always',
    /** The kernel build in use (KernelVariant). */
    readonly variant: KernelVariant = 'simd',
  ) {
    this.threads = pool?.threads ?? 1;
    this.name = `wasm-${variant} x${this.threads}`;
    this.staging = new Staging(heap);
    this.act = new QuantizedActivations(k, heap);
    this.scratch = new Region(heap);
    this.ropeTable = new RopeTable(heap);
    this.attention = new WasmAttention(k, heap, pool, minParallelWork);
  }

  /**
   * Matmul chunks done by the calling thread and by all threads so far. With
   * 2 threads an even split is main/all = 0.5; near 1 means the workers were
   * starved of CPU (another process on the cores) and the calling thread did
   * the work (chunks are claimed dynamically, so nothing waits on them).
   */
  parallelStats(): { mainChunks: number; allChunks: number } {
    return { mainChunks: this.pool?.mainChunks ?? 0, allChunks: this.pool?.allChunks ?? 0 };
  }

  /** Current size of the wasm memory, and the part of it handed out. */
  get memoryBytes(): number {
    return this.heap.memoryBytes;
  }
  get allocatedBytes(): number {
    return this.heap.allocatedBytes;
  }

  alloc(bytes: number): Uint8Array {
    return this.heap.u8(this.heap.alloc(bytes), bytes);
  }

  allocF32(n: number): Float32Array {
    return this.heap.f32(this.heap.alloc(n * 4), n);
  }

  allocF16(n: number): Uint16Array {
    return this.heap.u16(this.heap.alloc(n * 2), n);
  }

  free(buf: Uint8Array | Float32Array | Uint16Array): void {
    if (this.heap.owns(buf)) this.heap.release(buf.byteOffset);
  }

  /**
   * Interleaves the rows of F32, F16, BF16 (columns a multiple of 8), Q8_0
   * and Q4_0 matrices in place, in groups of 4 or 8 (asm/packed.ts): the form decode
   * streams from memory fastest (Q8_0 4x, F32 2x faster from DRAM on small
   * models' short rows). Other types, and matrices outside this backend's
   * memory, are returned as they are.
   */
  adoptWeight(w: WeightMatrix): WeightMatrix {
    this.checkOpen();
    if (w.layout !== undefined || !this.heap.owns(w.data)) return w;
    const rb = this.rowBytes(w);
    const packable = this.k.packedRows(w.type, w.rows, w.cols);
    if (packable === 0) return w;
    const scratch = this.scratch.ensure(this.k.packScratchBytes(w.type, rb));
    // 0: left in ggml's layout (an inf/NaN block scale or F16 value; the exact kernels handle those).
    if (this.k.packMatrix(w.type, w.data.byteOffset, w.rows, w.cols, rb, scratch) === 0) return w;
    return { ...w, layout: PACKED_LAYOUT[this.variant] };
  }

  matmul(out: Float32Array, w: WeightMatrix, x: Float32Array, n: number, sameInput = false): void {
    this.checkOpen();
    const { rows, cols } = w;
    const rb = this.rowBytes(w);
    const type = this.kernelType(w);
    // Only a caller's promise keeps the last quantized activations valid (see Ops.matmul).
    if (!sameInput) this.act.invalidate();
    if (n <= 0 || rows === 0) return;
    const st = this.staging;
    try {
      const wp = st.bytes(w.data, rows * rb, w.name);
      let xp = st.f32(x, 0, n * cols, 'in', 'x');
      const op = st.f32(out, 0, n * rows, 'out', 'out');
      let xq = 0;
      let xd = 0;
      let xs = 0;
      const grid = ACT_GRID.get(w.type);
      if (grid !== undefined && quantizesActivations(this.q8Activations, n)) ({ x: xp, xq, xd, xs } = this.act.prepare(grid, xp, n, cols));
      const per = Math.ceil(this.k.scratchBytes(cols) / 64) * 64;
      const parallel = this.pool !== undefined && rows >= 8 && rows * cols * n >= this.minParallelWork;
      const scratch = this.scratch.ensure(per * (parallel ? this.threads : 1));
      if (!parallel) {
        this.k.matmulRange(type, op, wp, xp, xq, xd, xs, rows, cols, n, 0, rows, rb, scratch);
        return;
      }
      // About 4 chunks per thread, each a whole number of 8-row tiles (packed groups are 4 or 8 rows).
      const tiles = Math.ceil(rows / 8);
      const chunkRows = Math.ceil(tiles / Math.min(tiles, this.threads * 4)) * 8;
      this.pool!.matmul([type, op, wp, xp, xq, xd, xs, rows, cols, n, rb, scratch, per, chunkRows, Math.ceil(rows / chunkRows)]);
    } finally {
      st.finish();
    }
  }

  getRows(out: Float32Array, w: WeightMatrix, ids: ArrayLike<number>): void {
    this.checkOpen();
    const rb = this.rowBytes(w);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(Number.isInteger(id) && id >= 0 && id < w.rows)) {
        throw new StreamLlmError('TOKEN_OUT_OF_RANGE', `token id ${id} is outside 0..${w.rows - 1}`, { context: { tensor: w.name, actual: id } });
      }
    }
    const st = this.staging;
    try {
      const wp = st.bytes(w.data, w.rows * rb, w.name);
      const op = st.f32(out, 0, ids.length * w.cols, 'out', 'out');
      const type = this.kernelType(w);
      if (type & PACKED) {
        const packed = this.k.packedRows(w.type, w.rows, w.cols);
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i]!;
          if (id < packed) this.k.dequantPacked(w.type, wp, id, w.cols, rb, op + i * w.cols * 4);
          else this.k.dequantRow(w.type, wp + id * rb, op + i * w.cols * 4, w.cols);
        }
      } else {
        for (let i = 0; i < ids.length; i++) this.k.dequantRow(w.type, wp + ids[i]! * rb, op + i * w.cols * 4, w.cols);
      }
    } finally {
      st.finish();
    }
  }

  rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, eps: number, n: number): void {
    const d = weight.length;
    const st = this.staging;
    try {
      const xp = st.f32(x, 0, n * d, 'in', 'x');
      const wp = st.f32(weight, 0, d, 'in', 'weight');
      this.k.rmsnorm(st.f32(out, 0, n * d, 'out', 'out'), xp, wp, d, n, eps);
    } finally {
      st.finish();
    }
  }

  layernorm(out: Float32Array, x: Float32Array, weight: Float32Array | undefined, bias: Float32Array | undefined, eps: number, n: number): void {
    const d = (weight ?? bias)?.length ?? out.length / n;
    const st = this.staging;
    try {
      const xp = st.f32(x, 0, n * d, 'in', 'x');
      const wp = weight !== undefined ? st.f32(weight, 0, d, 'in', 'weight') : 0;
      const bp = bias !== undefined ? st.f32(bias, 0, d, 'in', 'bias') : 0;
      this.k.layernorm(st.f32(out, 0, n * d, 'out', 'out'), xp, wp, bp, d, n, eps);
    } finally {
      st.finish();
    }
  }

  rope(x: Float32Array, off: number, nHeads: number, headDim: number, pos: number, spec: RopeSpec): void {
    this.ropeBatch(x, off, nHeads, headDim, pos, spec, 1);
  }

  ropeBatch(x: Float32Array, off: number, nHeads: number, headDim: number, pos: number, spec: RopeSpec, n: number): void {
    const dims = spec.dims;
    if (dims === 0 || nHeads === 0 || n <= 0) return;
    const tables = this.ropeTable.at(pos, n, spec);
    const st = this.staging;
    try {
      const xp = st.f32(x, off, n * nHeads * headDim, 'inout', 'x');
      this.k.ropeTokens(spec.style === 'adjacent' ? 1 : 0, xp, n, nHeads, headDim, dims, tables);
    } finally {
      st.finish();
    }
  }

  add(a: Float32Array, b: Float32Array, n: number): void {
    const st = this.staging;
    try {
      this.k.add(st.f32(a, 0, n, 'inout', 'a'), st.f32(b, 0, n, 'in', 'b'), n);
    } finally {
      st.finish();
    }
  }

  swiglu(gate: Float32Array, up: Float32Array, n: number): void {
    const st = this.staging;
    try {
      const gp = st.f32(gate, 0, n, 'inout', 'gate');
      const up_ = st.f32(up, 0, n, 'in', 'up');
      // A prefill's (n = tokens x ffn) is worth splitting: its exp and division cost ~30 ns per 4 values.
      if (this.pool !== undefined && n >= SWIGLU_PARALLEL) this.pool.swiglu(gp, up_, n, Math.ceil(n / (4 * this.threads) / 64) * 64);
      else this.k.swiglu(gp, up_, n);
    } finally {
      st.finish();
    }
  }

  gelu(x: Float32Array, n: number): void {
    const st = this.staging;
    try {
      this.k.gelu(st.f32(x, 0, n, 'inout', 'x'), n);
    } finally {
      st.finish();
    }
  }

  dotRows(scores: Float32Array, sOff: number, q: Float32Array, qOff: number, keys: KvArray, kOff: number, stride: number, count: number, d: number, scale: number): void {
    try {
      this.attention.dotRows(this.staging, scores, sOff, q, qOff, keys, kOff, stride, count, d, scale);
    } finally {
      this.staging.finish();
    }
  }

  axpyRows(out: Float32Array, oOff: number, w: Float32Array, wOff: number, values: KvArray, vOff: number, stride: number, count: number, d: number): void {
    try {
      this.attention.axpyRows(this.staging, out, oOff, w, wOff, values, vOff, stride, count, d);
    } finally {
      this.staging.finish();
    }
  }

  storeF16(dst: Uint16Array, dOff: number, src: Float32Array, sOff: number, n: number): void {
    try {
      this.attention.storeF16(this.staging, dst, dOff, src, sOff, n);
    } finally {
      this.staging.finish();
    }
  }

  loadF16(dst: Float32Array, dOff: number, src: Uint16Array, sOff: number, n: number): void {
    try {
      this.attention.loadF16(this.staging, dst, dOff, src, sOff, n);
    } finally {
      this.staging.finish();
    }
  }

  /** All heads in one wasm call, split across the threads by head (./attention.ts). */
  attendHeads(out: Float32Array, oOff: number, q: Float32Array, qOff: number, runs: readonly KvRun[], nRuns: number, shape: AttentionShape): void {
    this.checkOpen();
    try {
      this.attention.run(this.staging, out, oOff, q, qOff, 1, runs, nRuns, shape);
    } finally {
      this.staging.finish();
    }
  }

  attendBatch(out: Float32Array, oOff: number, q: Float32Array, qOff: number, n: number, runs: readonly KvRun[], nRuns: number, shape: AttentionShape): void {
    this.checkOpen();
    if (n <= 0) return;
    try {
      this.attention.run(this.staging, out, oOff, q, qOff, n, runs, nRuns, shape);
    } finally {
      this.staging.finish();
    }
  }

  softmax(x: Float32Array, off: number, n: number): void {
    if (n <= 0) return;
    const st = this.staging;
    try {
      this.k.softmax(st.f32(x, off, n, 'inout', 'x'), n);
    } finally {
      st.finish();
    }
  }

  /** Terminates the worker threads. Buffers stay readable; matmul/getRows throw afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
  }

  [Symbol.dispose](): void {
    this.closed = true;
    this.pool?.closeNow();
  }

  /** @internal Test hook: make the workers throw, exit or hang on the next task. */
  injectWorkerFault(kind: WorkerFault): void {
    requireArg(this.pool !== undefined, 'injectWorkerFault needs threads > 1');
    this.pool.fault(kind);
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamLlmError('BAD_ARGUMENT', `${this.name} ops are closed`);
  }

  /** The type id the kernels dispatch on: the ggml type, with PACKED for this backend's packed layout. */
  private kernelType(w: WeightMatrix): number {
    if (w.layout === undefined) return w.type;
    if (w.layout !== PACKED_LAYOUT[this.variant]) {
      throw new StreamLlmError('WEIGHT_LAYOUT', `matrix '${w.name}' has layout '${w.layout}', which these kernels do not read`, {
        context: { tensor: w.name, actual: w.layout },
      });
    }
    return w.type | PACKED;
  }

  private rowBytes(w: WeightMatrix): number {
    const rb = rowBytes(w.type, w.cols);
    if (!WASM_TYPES.has(w.type) || rb < 0) {
      throw new StreamLlmError('UNSUPPORTED_TENSOR_TYPE', `cannot compute with ${typeName(w.type)} rows of ${w.cols}`, {
        context: { tensor: w.name, actual: typeName(w.type) },
        hint: `the wasm kernels support ${[...WASM_TYPES].map(typeName).join(', ')}`,
      });
    }
    return rb;
  }
}
