/**
 * Scalar TypeScript reference kernels: the oracle every fast backend is tested
 * against. Plain loops, float64 accumulation (JS numbers), no tricks beyond
 * dequantizing each weight row once per batch.
 *
 * Matmuls with integer weights (Q8_0, Q4_0, Q4_K, Q6_K) dequantize each
 * weight row and keep the activations exact by default. With q8Activations
 * 'decode' or 'always' they follow ggml's integer path instead
 * (scalar-int.ts): activations quantized to Q8_0/Q8_K, integer dot products,
 * f32 sums in the order of llama.cpp's x86 kernels; that is the oracle of
 * the wasm backend, whose default is 'always'.
 */
import { StreamLlmError, requireArg } from '../errors.js';
import { GgmlType, rowBytes, typeName } from '../tensor/dtype.js';
import { f32ToF16Saturating, halfTableF32 } from '../tensor/half.js';
import { dequantize } from '../tensor/quant.js';
import { isIntegerType, matmulInt } from './scalar-int.js';
import { attendHeadsReference, runKeys } from './attention.js';
import { quantizesActivations, type AttentionShape, type KvArray, type KvRun, type Ops, type Q8Activations, type RopeSpec, type WeightMatrix } from './types.js';

/** A Float32Array view of F32 weights, made once per matrix (no copy). */
const f32Views = new WeakMap<Uint8Array, Float32Array>();

function f32View(w: WeightMatrix): Float32Array {
  let v = f32Views.get(w.data);
  if (v === undefined) {
    if (w.data.byteOffset % 4 !== 0) {
      // Unaligned F32 data cannot be viewed in place; copy once and remember it.
      v = new Float32Array(w.data.slice().buffer);
    } else {
      v = new Float32Array(w.data.buffer, w.data.byteOffset, w.rows * w.cols);
    }
    f32Views.set(w.data, v);
  }
  return v;
}

function checkComputable(w: WeightMatrix): number {
  if (w.layout !== undefined) {
    throw new StreamLlmError('WEIGHT_LAYOUT', `matrix '${w.name}' was re-laid out (${w.layout}) by another kernel backend`, {
      context: { tensor: w.name, actual: w.layout },
      hint: 'load the model again with the backend that will compute with it',
    });
  }
  const rb = rowBytes(w.type, w.cols);
  if (rb < 0) {
    throw new StreamLlmError('UNSUPPORTED_TENSOR_TYPE', `cannot compute with ${typeName(w.type)} rows of ${w.cols}`, {
      context: { tensor: w.name, actual: typeName(w.type) },
    });
  }
  return rb;
}

export interface ScalarOpsOptions {
  /** Whether integer-weight matmuls quantize the activations as ggml does (default 'never'; see Q8Activations). */
  readonly q8Activations?: Q8Activations;
}

export class ScalarOps implements Ops {
  readonly name: string = 'scalar';
  readonly q8Activations: Q8Activations;
  private scratch = new Float32Array(0);
  private scores = new Float32Array(0);

  constructor(opts: ScalarOpsOptions = {}) {
    const q8 = opts.q8Activations ?? 'never';
    requireArg(q8 === 'never' || q8 === 'decode' || q8 === 'always', `q8Activations must be 'never', 'decode' or 'always', got ${String(q8)}`, { field: 'q8Activations' });
    this.q8Activations = q8;
  }

  alloc(bytes: number): Uint8Array {
    return new Uint8Array(bytes);
  }

  allocF32(n: number): Float32Array {
    return new Float32Array(n);
  }

  allocF16(n: number): Uint16Array {
    return new Uint16Array(n);
  }

  free(): void {
    // The JS heap reclaims buffers by itself.
  }

  storeF16(dst: Uint16Array, dOff: number, src: Float32Array, sOff: number, n: number): void {
    for (let i = 0; i < n; i++) dst[dOff + i] = f32ToF16Saturating(src[sOff + i]!);
  }

  loadF16(dst: Float32Array, dOff: number, src: Uint16Array, sOff: number, n: number): void {
    const t = halfTableF32();
    for (let i = 0; i < n; i++) dst[dOff + i] = t[src[sOff + i]!]!;
  }

  private row(cols: number): Float32Array {
    if (this.scratch.length < cols) this.scratch = new Float32Array(cols);
    return this.scratch;
  }

  matmul(out: Float32Array, w: WeightMatrix, x: Float32Array, n: number): void {
    const { rows, cols } = w;
    const rb = checkComputable(w);
    if (w.type === GgmlType.F32) {
      const W = f32View(w);
      for (let r = 0; r < rows; r++) {
        const ro = r * cols;
        for (let t = 0; t < n; t++) {
          const xo = t * cols;
          let s = 0;
          for (let c = 0; c < cols; c++) s += W[ro + c]! * x[xo + c]!;
          out[t * rows + r] = s;
        }
      }
      return;
    }
    if (isIntegerType(w.type) && quantizesActivations(this.q8Activations, n)) {
      matmulInt(out, w, rb, x, n);
      return;
    }
    const buf = this.row(cols);
    for (let r = 0; r < rows; r++) {
      dequantize(w.type, w.data, r * rb, buf, 0, cols);
      for (let t = 0; t < n; t++) {
        const xo = t * cols;
        let s = 0;
        for (let c = 0; c < cols; c++) s += buf[c]! * x[xo + c]!;
        out[t * rows + r] = s;
      }
    }
  }

  getRows(out: Float32Array, w: WeightMatrix, ids: ArrayLike<number>): void {
    const rb = checkComputable(w);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < w.rows)) {
        throw new StreamLlmError('TOKEN_OUT_OF_RANGE', `token id ${id} is outside 0..${w.rows - 1}`, {
          context: { tensor: w.name, actual: id },
        });
      }
      if (w.type === GgmlType.F32) {
        // Copy from the cached f32 view: no per-token DataView.
        const W = f32View(w);
        const o = i * w.cols;
        const r = id * w.cols;
        for (let c = 0; c < w.cols; c++) out[o + c] = W[r + c]!;
      } else {
        dequantize(w.type, w.data, id * rb, out, i * w.cols, w.cols);
      }
    }
  }

  /**
   * Rounded step by step as ggml's rms_norm (ggml-cpu ops.cpp) and weight
   * multiply: f32 squares summed in float64, mean = f32(sum/d), scale =
   * 1/sqrtf(mean + eps) in f32, y = (x·scale)·w in f32. Its outputs feed
   * integer matmuls that round them to 8-bit codes as llama.cpp does; a scale
   * one ulp away from llama.cpp's would move many codes at once.
   */
  rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, eps: number, n: number): void {
    const fr = Math.fround;
    const d = weight.length;
    for (let t = 0; t < n; t++) {
      const o = t * d;
      let ss = 0;
      for (let i = 0; i < d; i++) ss += fr(x[o + i]! * x[o + i]!);
      const inv = fr(1 / fr(Math.sqrt(fr(fr(ss / d) + fr(eps)))));
      for (let i = 0; i < d; i++) out[o + i] = fr(x[o + i]! * inv) * weight[i]!;
    }
  }

  layernorm(
    out: Float32Array,
    x: Float32Array,
    weight: Float32Array | undefined,
    bias: Float32Array | undefined,
    eps: number,
    n: number,
  ): void {
    const d = (weight ?? bias)?.length ?? out.length / n;
    for (let t = 0; t < n; t++) {
      const o = t * d;
      let mean = 0;
      for (let i = 0; i < d; i++) mean += x[o + i]!;
      mean /= d;
      let v = 0;
      for (let i = 0; i < d; i++) v += (x[o + i]! - mean) ** 2;
      const inv = 1 / Math.sqrt(v / d + eps);
      for (let i = 0; i < d; i++) {
        let y = (x[o + i]! - mean) * inv;
        if (weight !== undefined) y *= weight[i]!;
        if (bias !== undefined) y += bias[i]!;
        out[o + i] = y;
      }
    }
  }

  ropeBatch(x: Float32Array, off: number, nHeads: number, headDim: number, pos: number, spec: RopeSpec, n: number): void {
    for (let t = 0; t < n; t++) this.rope(x, off + t * nHeads * headDim, nHeads, headDim, pos + t, spec);
  }

  rope(x: Float32Array, off: number, nHeads: number, headDim: number, pos: number, spec: RopeSpec): void {
    const half = spec.dims / 2;
    // Each pair's partner: adjacent (2i, 2i+1) or halves (i, i + dims/2).
    const stride = spec.style === 'adjacent' ? 1 : half;
    const step = spec.style === 'adjacent' ? 2 : 1;
    for (let i = 0; i < half; i++) {
      const a = pos * spec.invFreq[i]!;
      const c = Math.cos(a);
      const s = Math.sin(a);
      const j = i * step;
      for (let h = 0; h < nHeads; h++) {
        const o = off + h * headDim + j;
        const x0 = x[o]!;
        const x1 = x[o + stride]!;
        x[o] = x0 * c - x1 * s;
        x[o + stride] = x0 * s + x1 * c;
      }
    }
  }

  add(a: Float32Array, b: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) a[i] = a[i]! + b[i]!;
  }

  swiglu(gate: Float32Array, up: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const g = gate[i]!;
      gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
    }
  }

  gelu(x: Float32Array, n: number): void {
    const k = Math.sqrt(2 / Math.PI);
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      x[i] = 0.5 * v * (1 + Math.tanh(k * v * (1 + 0.044715 * v * v)));
    }
  }

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
  ): void {
    // A 16-bit cache reads through the exact half -> f32 table.
    const t = keys instanceof Uint16Array ? halfTableF32() : undefined;
    for (let j = 0; j < count; j++) {
      const ko = kOff + j * stride;
      let s = 0;
      if (t === undefined) for (let i = 0; i < d; i++) s += q[qOff + i]! * keys[ko + i]!;
      else for (let i = 0; i < d; i++) s += q[qOff + i]! * t[keys[ko + i]!]!;
      scores[sOff + j] = s * scale;
    }
  }

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
  ): void {
    const t = values instanceof Uint16Array ? halfTableF32() : undefined;
    for (let j = 0; j < count; j++) {
      const a = w[wOff + j]!;
      if (a === 0) continue;
      const vo = vOff + j * stride;
      if (t === undefined) for (let i = 0; i < d; i++) out[oOff + i] = out[oOff + i]! + a * values[vo + i]!;
      else for (let i = 0; i < d; i++) out[oOff + i] = out[oOff + i]! + a * t[values[vo + i]!]!;
    }
  }

  attendHeads(out: Float32Array, oOff: number, q: Float32Array, qOff: number, runs: readonly KvRun[], nRuns: number, shape: AttentionShape): void {
    const total = runKeys(runs, nRuns);
    if (this.scores.length < total) this.scores = new Float32Array(Math.max(total, 2 * this.scores.length));
    attendHeadsReference(this, out, oOff, q, qOff, runs, nRuns, shape, this.scores);
  }

  softmax(x: Float32Array, off: number, n: number): void {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, x[off + i]!);
    if (max === -Infinity) {
      x.fill(0, off, off + n);
      return;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(x[off + i]! - max);
      x[off + i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < n; i++) x[off + i] = x[off + i]! * inv;
  }
}

export const scalarOps: Ops = new ScalarOps();
