/**
 * GELU exactly as llama.cpp's CPU backend computes it, so GELU models agree
 * with llama.cpp within 1e-4 instead of ~1e-3.
 *
 * ggml-cpu builds with GGML_GELU_FP16: `ggml_vec_gelu_f32` returns 0 for
 * x ≤ -10 and x for x ≥ 10; otherwise it rounds x to fp16 (round to nearest
 * even, as `_cvtss_sh(x, 0)` does) and reads a 65536-entry table whose entries
 * are the fp16-rounded float32 tanh approximation
 *   0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))).
 * Both roundings lose ~2⁻¹¹ relative, which random-weight tests see clearly.
 * The table is rebuilt here from that definition (float32 arithmetic
 * emulated with Math.fround), not copied. `ops.gelu` keeps its plain tanh
 * contract; models choose with `BuildOptions.gelu`.
 */
import type { Ops } from '../../kernels/types.js';
import type { GeluMode } from '../types.js';

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** float32 → IEEE half bits, round to nearest even (overflow → ±inf, NaN → quiet NaN). */
export function f32ToF16Bits(x: number): number {
  F32[0] = x;
  const bits = U32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x47800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00); // ≥ 2^16, inf or NaN
  if (abs < 0x38800000) {
    // Below 2^-14 the result is subnormal: a multiple of 2^-24, rounded half to even.
    const v = Math.abs(F32[0]!) * 16777216; // exact: scaling by a power of two
    const fl = Math.floor(v);
    const frac = v - fl;
    return sign | (frac > 0.5 || (frac === 0.5 && (fl & 1) === 1) ? fl + 1 : fl);
  }
  // Normal: rebias the exponent and drop 13 mantissa bits, rounding half to even.
  const odd = (abs >>> 13) & 1;
  return sign | ((abs - (112 << 23) + 0xfff + odd) >>> 13);
}

/** IEEE half bits → number (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const fr = Math.fround;
const GELU_COEF_A = fr(0.044715);
const SQRT_2_OVER_PI = fr(0.7978845608028654);

/** ggml_gelu_f32, evaluated in float32 in the same order as the C expression. */
function geluF32(x: number): number {
  const inner = fr(fr(SQRT_2_OVER_PI * x) * fr(1 + fr(fr(GELU_COEF_A * x) * x)));
  return fr(fr(0.5 * x) * fr(1 + fr(Math.tanh(inner))));
}

let table: Float32Array | undefined;

/** fp16 bits of x → gelu(x) rounded through fp16, built once (256 KiB). */
function geluTable(): Float32Array {
  if (table === undefined) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32(f32ToF16Bits(geluF32(f16BitsToF32(h))));
  }
  return table;
}

/** In place over n elements: GELU as llama.cpp's CPU backend evaluates it. */
export function geluGgml(x: Float32Array, n: number): void {
  const t = geluTable();
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (v <= -10) x[i] = 0;
    else if (v < 10) x[i] = t[f32ToF16Bits(v)]!;
  }
}

export function applyGelu(ops: Ops, mode: GeluMode, x: Float32Array, n: number): void {
  if (mode === 'ggml') geluGgml(x, n);
  else ops.gelu(x, n);
}
