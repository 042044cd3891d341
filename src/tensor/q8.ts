/**
 * How ggml quantizes *activations* for its integer dot products: the
 * reference that asm/quant.ts reproduces bit for bit, and the first half of
 * the scalar backend's integer matmul (src/kernels/scalar-int.ts).
 *
 * ggml-cpu never multiplies quantized weights by f32 activations: mul_mat
 * converts src1 to the weight type's vec_dot_type first, for every batch
 * size (ggml-cpu.c ggml_compute_forward_mul_mat, and the repacked kernels in
 * repack.cpp forward_mul_mat). Q8_0 and Q4_0 weights take block_q8_0
 * activations, Q4_K and Q6_K weights take block_q8_K. Read from the
 * llama.cpp that node-llama-cpp 3.21.1 bundles:
 *
 *   Q8_0, 32 values (ggml-cpu/arch/x86/quants.c quantize_row_q8_0, the AVX
 *   path every x86-64 build with AVX takes; the repacked Q4_0 kernels'
 *   ggml_quantize_mat_q8_0_4x8 rounds the same way):
 *     amax = max |x|;  d = fp16(amax / 127)  (stored as fp16, and the dot
 *     product uses that rounded d);  id = amax != 0 ? 127 / amax : 0 (f32);
 *     q = round-half-to-even(x · id).
 *   The portable quantize_row_q8_0_ref differs in the last bit: it uses
 *   id = 1 / (amax / 127) and roundf (half away from zero). We follow the
 *   x86 path, which is what llama.cpp runs on the machines we compare with.
 *
 *   Q8_K, 256 values (ggml-quants.c quantize_row_q8_K_ref; x86's
 *   quantize_row_q8_K calls it as is):
 *     max = the first element of largest |x|, with its sign;
 *     iscale = -127 / max (f32);  q = nearest_int(iscale · x), which rounds
 *     half to even (x + 1.5·2^23 in f32);  d = 1 / iscale, an f32 (not fp16);
 *     bsums = sums of q per 16 (Q4_K's min term uses them).
 *   All-zero blocks get d = 0 and q = 0. |q| <= 127 always, so ggml's
 *   MIN(127, q) never binds.
 *
 * Every step is one f32 operation, reproduced here with Math.fround (double
 * rounding of a single +, *, / of f32 values through float64 is exact).
 */
import { f16ToF32, f32ToF16 } from './half.js';

const fr = Math.fround;
/** 1.5·2^23: adding it in f32 rounds a value below 2^22 to an integer, half to even (ggml's nearest_int). */
const MAGIC = 12582912;
const nearest = (v: number): number => fr(v + MAGIC) - MAGIC;

/**
 * x[xOff .. xOff + n) -> q[qOff ..] (int8) and d[dOff ..] (one f32 per 32,
 * already rounded to fp16), as block_q8_0. n must be a multiple of 32.
 */
export function quantizeActQ8_0(x: ArrayLike<number>, xOff: number, n: number, q: Int8Array, qOff: number, d: Float32Array, dOff: number): void {
  for (let b = 0; b < n / 32; b++) {
    const o = xOff + 32 * b;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]!));
    d[dOff + b] = f16ToF32(f32ToF16(fr(amax / 127)));
    const id = amax !== 0 ? fr(127 / amax) : 0;
    for (let j = 0; j < 32; j++) q[qOff + 32 * b + j] = nearest(fr(x[o + j]! * id));
  }
}

/**
 * x[xOff .. xOff + n) -> q[qOff ..] (int8) and d[dOff ..] (one f32 per 256),
 * as block_q8_K (its bsums are plain sums of q, left to the caller).
 * n must be a multiple of 256.
 */
export function quantizeActQ8K(x: ArrayLike<number>, xOff: number, n: number, q: Int8Array, qOff: number, d: Float32Array, dOff: number): void {
  for (let b = 0; b < n / 256; b++) {
    const o = xOff + 256 * b;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 256; j++) {
      const ax = Math.abs(x[o + j]!);
      if (ax > amax) {
        amax = ax;
        max = x[o + j]!;
      }
    }
    const iscale = amax !== 0 ? fr(-127 / max) : 0;
    d[dOff + b] = amax !== 0 ? fr(1 / iscale) : 0;
    for (let j = 0; j < 256; j++) q[qOff + 256 * b + j] = nearest(fr(iscale * x[o + j]!));
  }
}
