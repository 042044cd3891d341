/**
 * The scalar reference of ggml's integer matmul, the oracle of the wasm
 * integer kernels (asm/quant.ts): activations quantized exactly as ggml does
 * (src/tensor/q8.ts: Q8_0 for Q8_0/Q4_0 weights, Q8_K for Q4_K/Q6_K), exact
 * integer dot products, then scaled and summed in f32 the way llama.cpp's
 * x86-64 (AVX2/AVX-512) build does, so that llama.cpp and we compute the
 * same f32 outputs:
 *
 *   Q4_0  repacked gemv (ggml-cpu/arch/x86/repack.cpp gemv_q4_b32_8x8_q8_0_lut_avx):
 *         acc = fma(f32(I_b), d_w·d_x, acc) per 32-block, I_b the block's integer dot.
 *   Q4_K  repacked gemv (ggml_gemv_q4_K_8x8_q8_K): per 256-block
 *         A = fma(f32(sum_j sc_j·I_j), d·d_x, A), M = fma(f32(sum_j m_j·bsum_j), dmin·d_x, M);
 *         out = A - M.
 *   Q6_K  ggml_vec_dot_q6_K_q8_K (arch/x86/quants.c, AVX2): 8 lanes, lane k
 *         holding elements 4k..4k+3 of every 32 (scale·unsigned 6-bit code·q8)
 *         minus 32·(sc·bsum) of 16-groups 2k and 2k+1; lane = fma(f32(lane_int),
 *         d·d_x, lane) per 256-block; out = hsum_float_8 (((l4+l0)+(l6+l2))+((l5+l1)+(l7+l3))).
 *   Q8_0  ggml_vec_dot_q8_0_q8_0 sums 8 lanes with one fused multiply-add per
 *         32-block; wasm has no cheap fused f32 multiply-add (8 emulated in f64
 *         per block would halve the kernel's speed), so here, as in the kernel,
 *         Q8_0 is acc = f32(acc + f32(f32(d_w·d_x)·I_b)) block after block:
 *         within a few f32 roundings of llama.cpp.
 *
 * (llama.cpp repacks Q4_0 and Q4_K weights whose row count is a multiple of
 * 8, which is every matrix of the models we know; other matrices take
 * ggml_vec_dot_q4_*, whose f32 summation differs in the last bits.)
 *
 * Why the f32 order matters: activations are rounded to 8-bit codes, so a
 * one-ulp difference in a matmul output can move a later activation across a
 * rounding boundary, a jump of a whole code (amax/127) that on a small model
 * changed next-token probabilities by 1e-2.
 *
 * fma(a, b, c) is computed in float64 and rounded to f32: a·b is exact there
 * (a is an integer below 2^25, b an f32), so only the sum rounds twice, which
 * differs from a fused f32 multiply-add with probability about 2^-29.
 */
import { GgmlType } from '../tensor/dtype.js';
import { f16ToF32 } from '../tensor/half.js';
import { q4kScaleMin } from '../tensor/kquant.js';
import { quantizeActQ8_0, quantizeActQ8K } from '../tensor/q8.js';
import type { WeightMatrix } from './types.js';

const fr = Math.fround;
const half = (b: Uint8Array, o: number): number => f16ToF32(b[o]! | (b[o + 1]! << 8));
/** x86's vfmadd in f32: a·b + c rounded once. */
const fma = (a: number, b: number, c: number): number => fr(a * b + c);

/** One weight row at byte `o` of `w` · the activation codes q[qo..] with scales d[dOff..]. */
type IntDot = (w: Uint8Array, o: number, q: Int8Array, qo: number, d: Float32Array, dOff: number, cols: number) => number;

const dotQ8_0: IntDot = (w, o, q, qo, d, dOff, cols) => {
  let s = 0;
  for (let b = 0; b < cols / 32; b++) {
    const p = o + 34 * b;
    let sumi = 0;
    for (let j = 0; j < 32; j++) sumi += ((w[p + 2 + j]! << 24) >> 24) * q[qo + 32 * b + j]!;
    s = fr(s + fr(fr(half(w, p) * d[dOff + b]!) * sumi));
  }
  return s;
};

const dotQ4_0: IntDot = (w, o, q, qo, d, dOff, cols) => {
  let acc = 0;
  for (let b = 0; b < cols / 32; b++) {
    const p = o + 18 * b;
    const qb = qo + 32 * b;
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const byte = w[p + 2 + j]!;
      sumi += ((byte & 15) - 8) * q[qb + j]! + ((byte >> 4) - 8) * q[qb + j + 16]!;
    }
    acc = fma(sumi, fr(half(w, p) * d[dOff + b]!), acc);
  }
  return acc;
};

const dotQ4K: IntDot = (w, o, q, qo, d, dOff, cols) => {
  let acc = 0;
  let accMin = 0;
  for (let sb = 0; sb < cols / 256; sb++) {
    const p = o + 144 * sb;
    const dx = d[dOff + sb]!;
    let sumi = 0;
    let summ = 0;
    for (let j = 0; j < 8; j++) {
      const qs = p + 16 + 32 * (j >> 1);
      const shift = 4 * (j & 1);
      const qj = qo + 256 * sb + 32 * j;
      let dot = 0;
      let bsum = 0;
      for (let l = 0; l < 32; l++) {
        dot += ((w[qs + l]! >> shift) & 15) * q[qj + l]!;
        bsum += q[qj + l]!;
      }
      sumi += q4kScaleMin(w, p + 4, j, 0) * dot;
      summ += q4kScaleMin(w, p + 4, j, 1) * bsum;
    }
    acc = fma(fr(sumi), fr(half(w, p) * dx), acc);
    accMin = fma(fr(summ), fr(half(w, p + 2) * dx), accMin);
  }
  return fr(acc - accMin);
};

const lanes = new Float64Array(8);
const ilanes = new Int32Array(8);

const dotQ6K: IntDot = (w, o, q, qo, d, dOff, cols) => {
  lanes.fill(0);
  for (let sb = 0; sb < cols / 256; sb++) {
    const p = o + 210 * sb;
    const qs = qo + 256 * sb;
    ilanes.fill(0);
    for (let e = 0; e < 256; e++) {
      // Element e of the super-block (see kquant.ts for the layout), its unsigned 6-bit code.
      const h = e >> 7;
      const g = (e >> 5) & 3;
      const l = e & 31;
      const lb = w[p + 64 * h + 32 * (g & 1) + l]!;
      const lo = g >= 2 ? lb >> 4 : lb & 15;
      const hi = (w[p + 128 + 32 * h + l]! >> (2 * g)) & 3;
      const sc = (w[p + 192 + (e >> 4)]! << 24) >> 24;
      ilanes[(e & 31) >> 2] += sc * (lo | (hi << 4)) * q[qs + e]!;
    }
    for (let k = 0; k < 8; k++) {
      // The codes' offset of 32, taken off lane k for the 16-groups 2k and 2k+1.
      let corr = 0;
      for (let g16 = 2 * k; g16 < 2 * k + 2; g16++) {
        let bsum = 0;
        for (let i = 0; i < 16; i++) bsum += q[qs + 16 * g16 + i]!;
        corr += ((w[p + 192 + g16]! << 24) >> 24) * bsum;
      }
      ilanes[k] -= 32 * corr;
    }
    const ds = fr(d[dOff + sb]! * half(w, p + 208));
    for (let k = 0; k < 8; k++) lanes[k] = fma(fr(ilanes[k]!), ds, lanes[k]!);
  }
  const l = lanes;
  return fr(fr(fr(l[4]! + l[0]!) + fr(l[6]! + l[2]!)) + fr(fr(l[5]! + l[1]!) + fr(l[7]! + l[3]!)));
};

const DOTS: Partial<Record<GgmlType, { dot: IntDot; block: number }>> = {
  [GgmlType.Q8_0]: { dot: dotQ8_0, block: 32 },
  [GgmlType.Q4_0]: { dot: dotQ4_0, block: 32 },
  [GgmlType.Q4_K]: { dot: dotQ4K, block: 256 },
  [GgmlType.Q6_K]: { dot: dotQ6K, block: 256 },
};

/** Weight types whose matmul ggml computes on quantized activations. */
export function isIntegerType(type: GgmlType): boolean {
  return DOTS[type] !== undefined;
}

/**
 * out (n, rows) = x (n, cols) · W^T the way ggml computes it for an integer
 * weight type: each of the n activation rows quantized (Q8_0 or Q8_K), then
 * integer dot products. `rb` is the byte size of one weight row.
 */
export function matmulInt(out: Float32Array, w: WeightMatrix, rb: number, x: Float32Array, n: number): void {
  const { rows, cols } = w;
  const { dot, block } = DOTS[w.type]!;
  const perRow = cols / block;
  const q = new Int8Array(n * cols);
  const d = new Float32Array(n * perRow);
  const quant = block === 32 ? quantizeActQ8_0 : quantizeActQ8K;
  for (let t = 0; t < n; t++) quant(x, t * cols, cols, q, t * cols, d, t * perRow);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < n; t++) out[t * rows + r] = dot(w.data, r * rb, q, t * cols, d, t * perRow, cols);
  }
}
