/**
 * The kernel seam. Models and cache policies compute only through `Ops`, so a
 * SIMD WebAssembly backend can replace the scalar reference without touching
 * them; every fast backend is tested against `scalarOps` (the oracle).
 *
 * Conventions: activations are row-major Float32Array batches of `n` tokens;
 * weight matrices are ggml-style rows (row r holds the `cols` inputs of output
 * r), possibly block-quantized.
 */
import type { GgmlType } from '../tensor/dtype.js';

export interface WeightMatrix {
  readonly name: string;
  readonly type: GgmlType;
  /** Output features (ggml ne1). */
  readonly rows: number;
  /** Input features (ggml ne0), contiguous within a row. */
  readonly cols: number;
  /** rows * rowBytes(type, cols) bytes, owned by the backend's memory. */
  readonly data: Uint8Array;
  /**
   * Absent: ggml's layout (row after row). Otherwise the name of a layout a
   * backend's adoptWeight gave the data for its own kernels (same size); only
   * that kind of backend can compute with the matrix.
   */
  readonly layout?: string;
}

/** Which pairs of a head's dimensions RoPE rotates together. */
export type RopeStyle =
  /** (0,1), (2,3), ... : llama2.c, GGUF `llama` files (ggml "normal" mode). */
  | 'adjacent'
  /** (i, i + d/2): GPT-NeoX, Falcon, HF Llama (ggml "neox" mode). */
  | 'halves';

export interface RopeSpec {
  readonly style: RopeStyle;
  /** Leading dimensions of each head that rotate (the rest pass through). */
  readonly dims: number;
  /**
   * Inverse frequencies, one per rotated pair, already including base,
   * linear scaling and per-frequency factors. Float64 so that angles at
   * positions in the millions stay exact.
   */
  readonly invFreq: Float64Array;
}

/**
 * Whether a matmul with integer weights (Q8_0, Q4_0, Q4_K, Q6_K) quantizes
 * its activations the way ggml does (Q8_0 blocks for Q8_0/Q4_0, Q8_K for the
 * K-quants; src/tensor/q8.ts). llama.cpp always does, at every batch size.
 * - 'never': f32 activations, so integer weights compute exactly what their
 *   dequantized F32 values would. The scalar backend's default: the
 *   textbook oracle.
 * - 'decode': matvecs (n = 1) quantize as ggml and sum as its x86 kernels
 *   do, so token-by-token decode computes what llama.cpp computes on the
 *   same file; prefill (n > 1) keeps f32 activations.
 * - 'always': every n, so batched prefill matches llama.cpp too (up to f32
 *   rounding: prefill still runs f32 panels, on the quantized activations),
 *   and logits do not depend on the batch size. The wasm backend's default.
 * Float weights (F32, F16, BF16) never quantize activations.
 */
export type Q8Activations = 'never' | 'decode' | 'always';

/** True if a matmul of n tokens with integer weights quantizes its activations under `mode`. */
export function quantizesActivations(mode: Q8Activations, n: number): boolean {
  return mode === 'always' || (mode === 'decode' && n === 1);
}

export interface Ops {
  readonly name: string;
  /**
   * Allocate engine memory for weights (a wasm backend returns views of its
   * own memory, so weights are placed once and never copied again).
   */
  alloc(bytes: number): Uint8Array;
  /**
   * Allocate an f32 buffer for activations, KV storage or scratch. Kernels
   * are only guaranteed fast on buffers from here (a wasm backend can address
   * them without copying); any Float32Array must still work, correctly.
   */
  allocF32(n: number): Float32Array;
  /** Allocate n IEEE halves (bit patterns) for a 16-bit KV cache; fast like allocF32's buffers. */
  allocF16(n: number): Uint16Array;
  /** Return a buffer from alloc/allocF32/allocF16 that will not be used again (optional bookkeeping). */
  free(buf: Uint8Array | Float32Array | Uint16Array): void;
  /**
   * dst[dOff ..+n) = src[sOff ..+n) as IEEE halves, rounded to nearest even,
   * saturating at ±65504 (not infinity: one infinite key would make its
   * head's softmax NaN); NaN stays NaN. How a 16-bit KV cache is written.
   */
  storeF16(dst: Uint16Array, dOff: number, src: Float32Array, sOff: number, n: number): void;
  /**
   * dst[dOff ..+n) = the halves src[sOff ..+n) as f32, exactly for every
   * finite half. A NaN half (storeF16 writes one only for a NaN input) may
   * read as a large finite value on the wasm backend (asm/half-kv.ts).
   */
  loadF16(dst: Float32Array, dOff: number, src: Uint16Array, sOff: number, n: number): void;
  /**
   * Optional: called once by the model loader for each weight matrix it
   * placed in alloc() memory, before any use. A backend may re-lay the data
   * out in place for faster kernels (e.g. interleaving rows) and returns the
   * matrix to use from then on (with `layout` set if it changed anything).
   */
  adoptWeight?(w: WeightMatrix): WeightMatrix;

  /**
   * out[t, r] = sum_c w[r, c] * x[t, c] for t < n. out is (n, rows), x is (n, cols).
   * Integer weights may see x quantized as ggml quantizes it (see Q8Activations).
   * `sameInput`: the caller promises x still holds what the previous matmul
   * call read from it (the same array and n: e.g. the Q, K and V projections
   * of one input); a backend may then reuse work done on it, such as the
   * quantized activations. Results must not change either way.
   */
  matmul(out: Float32Array, w: WeightMatrix, x: Float32Array, n: number, sameInput?: boolean): void;
  /** Rows `ids` of an embedding matrix, dequantized into out (ids.length, cols). */
  getRows(out: Float32Array, w: WeightMatrix, ids: ArrayLike<number>): void;

  /** out = x / rms(x) * weight, row by row over n rows of size dim. */
  rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, eps: number, n: number): void;
  /** out = (x - mean) / std * weight + bias, row by row. */
  layernorm(
    out: Float32Array,
    x: Float32Array,
    weight: Float32Array | undefined,
    bias: Float32Array | undefined,
    eps: number,
    n: number,
  ): void;

  /**
   * Rotate `nHeads` heads of size `headDim` stored at x[off..] by `pos`
   * (one token). `pos` may be any real number; angles are float64.
   */
  rope(x: Float32Array, off: number, nHeads: number, headDim: number, pos: number, spec: RopeSpec): void;
  /** rope for `n` consecutive tokens (rows of nHeads·headDim from x[off]) at pos, pos + 1, …, in one call. */
  ropeBatch(x: Float32Array, off: number, nHeads: number, headDim: number, pos: number, spec: RopeSpec, n: number): void;

  /** In place: a = a + b over n elements. */
  add(a: Float32Array, b: Float32Array, n: number): void;
  /** In place: gate = silu(gate) * up over n elements. */
  swiglu(gate: Float32Array, up: Float32Array, n: number): void;
  /** In place: x = gelu(x) (tanh approximation, as ggml). */
  gelu(x: Float32Array, n: number): void;

  /**
   * scores[sOff + j] = scale * dot(q[qOff..qOff+d), keys[kOff + j*stride ..+d)) for j < count.
   * The building block of every cache policy's attention.
   */
  dotRows(
    scores: Float32Array,
    sOff: number,
    q: Float32Array,
    qOff: number,
    keys: KvArray,
    kOff: number,
    stride: number,
    count: number,
    d: number,
    scale: number,
  ): void;
  /** out[oOff..oOff+d) += sum_j w[wOff + j] * values[vOff + j*stride ..+d) for j < count. */
  axpyRows(
    out: Float32Array,
    oOff: number,
    w: Float32Array,
    wOff: number,
    values: KvArray,
    vOff: number,
    stride: number,
    count: number,
    d: number,
  ): void;
  /** In place softmax of x[off..off+n); returns nothing. -Infinity entries get 0. */
  softmax(x: Float32Array, off: number, n: number): void;

  /**
   * Attention of one token's query heads over runs of cached keys/values:
   * for each head h (kv head h / (nHeads / kvHeads)),
   *   out[oOff + h·d ..+d) = softmax(scale · q_h·K + bias) · V
   * over the keys of all runs in order, bias = -slope[h] · distance with
   * ALiBi. The reference is attendHeadsReference (dotRows, softmax,
   * axpyRows per head); a backend may fuse and parallelise it, but must
   * compute the same values.
   */
  attendHeads(out: Float32Array, oOff: number, q: Float32Array, qOff: number, runs: readonly KvRun[], nRuns: number, shape: AttentionShape): void;

  /**
   * Optional: attendHeads for n tokens in one call (a prefill). Token t
   * reads its query at qOff + t·nHeads·headDim, writes at oOff +
   * t·nHeads·headDim, over runs[t·nRuns .. (t + 1)·nRuns) (runs of count 0
   * pad tokens that need fewer). The same values as n attendHeads calls;
   * a backend with threads splits the tokens among them. Callers go
   * through cache/attend.ts attendTokens, which falls back to the loop.
   */
  attendBatch?(out: Float32Array, oOff: number, q: Float32Array, qOff: number, n: number, runs: readonly KvRun[], nRuns: number, shape: AttentionShape): void;
}

/**
 * KV storage: f32, or IEEE half bit patterns (a 16-bit cache, read exactly
 * as f32 by the attention kernels).
 */
export type KvArray = Float32Array | Uint16Array;

/** A run of keys/values: row j of kv head g starts at offset + g·headStride + j·rowStride (elements). */
export interface KvRun {
  /** Keys and values of one run share a type. */
  readonly keys: KvArray;
  readonly values: KvArray;
  readonly offset: number;
  readonly headStride: number;
  readonly rowStride: number;
  readonly count: number;
  /** Distance (query position - key position) of the run's first key; later keys are one closer each (ALiBi only). */
  readonly firstDistance: number;
}

export interface AttentionShape {
  readonly nHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly scale: number;
  /** ALiBi slopes, one per query head (absent: no positional bias in the scores). */
  readonly alibiSlopes?: Float32Array;
}
