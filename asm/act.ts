/**
 * Activation quantization for the integer kernels (quant.ts, kquant.ts):
 * once per matmul call, the f32 activations become what ggml's mul_mat
 * converts them to (ggml's vec_dot_type; the rounding, step by step, and
 * where in ggml it comes from, is in src/tensor/q8.ts, which this matches
 * bit for bit):
 * - GRID_Q8_0 (Q8_0, Q4_0 weights), blocks of 32: d = fp16(amax/127), kept
 *   as the f32 value of that fp16; q = round-half-even(x · 127/amax).
 * - GRID_Q8_K (Q4_K, Q6_K weights), blocks of 256: iscale = -127/max with
 *   max the first element of largest |x|, signed; q = round-half-even(x ·
 *   iscale); d = 1/iscale (f32).
 * Sums of codes come along (per 32 for Q8_0, per 16 for Q8_K, block_q8_K's
 * bsums): Q4_0 takes its nibbles' offset of 8 off the block sum, Q4_K's
 * mins and Q6_K's offset of 32 use the sums as ggml does.
 *
 * Codes fit in 8 bits but are stored as i16: notes/cpu-kernels.md found
 * pre-widening int8 activations to i16 the fastest Q8 form in wasm
 * (`i32x4.dot_i16x8_s`, no relaxed SIMD).
 */
import { f32At } from './common';

/** Activation grids: Q8_0 blocks (for Q8_0/Q4_0 weights), Q8_K blocks (Q4_K/Q6_K). */
export const GRID_Q8_0: i32 = 0;
export const GRID_Q8_K: i32 = 1;

/**
 * f32 -> the nearest fp16 value, as f32 (round half to even, as F16C's
 * vcvtps2ph and src/tensor/half.ts f32ToF16 round). Below 2^-14 halves are
 * multiples of 2^-24: adding 0.5 (whose f32 ulp is 2^-24) rounds there.
 * Above, the mantissa is rounded to 10 bits in place; 65520 and up become
 * infinity.
 */
@inline function roundToHalf(f: f32): f32 {
  const a = abs<f32>(f);
  let r: f32;
  if (a < <f32>6.103515625e-5) {
    r = (a + <f32>0.5) - <f32>0.5;
  } else {
    const b = reinterpret<u32>(a);
    r = reinterpret<f32>((b + 0xfff + ((b >> 13) & 1)) & ~(<u32>0x1fff));
    if (r >= <f32>65536) r = Infinity;
  }
  return copysign<f32>(r, f);
}

/** 8 lanes of codes: round-half-even(x · s) for the 8 floats at p, as i16. */
@inline function codes8(p: usize, s: v128): v128 {
  const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), s)));
  const hi = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), s)));
  return i16x8.narrow_i32x4_s(lo, hi);
}

/** Sum of 8 i16 lanes. */
@inline function hsumI16(v: v128): i32 {
  const w = i32x4.extadd_pairwise_i16x8_s(v);
  return i32x4.extract_lane(w, 0) + i32x4.extract_lane(w, 1) + i32x4.extract_lane(w, 2) + i32x4.extract_lane(w, 3);
}

/** Q8_0 grid: x (count) -> xq (count) i16, xd (count/32) f32, xs (count/32) i32 sums of q. */
function quantQ8_0(x: usize, xq: usize, xd: usize, xs: usize, count: i32): void {
  for (let b = 0; b < count >> 5; b++) {
    const p = x + (<usize>b << 7);
    let m = f32x4.splat(0);
    for (let k = 0; k < 8; k++) m = f32x4.pmax(m, f32x4.abs(v128.load(p + (<usize>k << 4))));
    m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
    const amax = max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
    store<f32>(f32At(xd, b), roundToHalf(amax / <f32>127));
    const id = f32x4.splat(amax != 0 ? <f32>127 / amax : 0);
    const q = xq + (<usize>b << 6);
    let sum = i16x8.splat(0);
    for (let k = 0; k < 4; k++) {
      const c = codes8(p + (<usize>k << 5), id);
      v128.store(q + (<usize>k << 4), c);
      sum = i16x8.add(sum, c);
    }
    store<i32>(xs + (<usize>b << 2), hsumI16(sum));
    if (ASC_FEATURE_RELAXED_SIMD) {
      // The codes as int8 too (|c| <= 127: exact), after the sums: what the relaxed Q4_0 prefill multiplies (igemm4r.ts).
      const o = xs + (<usize>(count >> 5) << 2) + (<usize>b << 5);
      v128.store(o, i8x16.narrow_i16x8_s(v128.load(q), v128.load(q, 16)));
      v128.store(o, i8x16.narrow_i16x8_s(v128.load(q, 32), v128.load(q, 48)), 16);
    }
  }
}

/** Q8_K grid: x (count) -> xq (count) i16, xd (count/256) f32, xs (count/16) i16 sums of q (block_q8_K's bsums). */
function quantQ8K(x: usize, xq: usize, xd: usize, xs: usize, count: i32): void {
  for (let sb = 0; sb < count >> 8; sb++) {
    const p = x + (<usize>sb << 10);
    let hi = v128.load(p);
    let lo = hi;
    for (let k = 1; k < 64; k++) {
      const v = v128.load(p + (<usize>k << 4));
      hi = f32x4.pmax(hi, v);
      lo = f32x4.pmin(lo, v);
    }
    hi = f32x4.pmax(hi, v128.shuffle<f32>(hi, hi, 2, 3, 0, 1));
    lo = f32x4.pmin(lo, v128.shuffle<f32>(lo, lo, 2, 3, 0, 1));
    const top = max(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1));
    const bottom = min(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1));
    // ggml scales by the first element of largest magnitude, sign included.
    let big: f32 = top > -bottom ? top : bottom;
    if (top == -bottom) {
      for (let i = 0; i < 256; i++) {
        const v = load<f32>(p + (<usize>i << 2));
        if (abs<f32>(v) == top) {
          big = v;
          break;
        }
      }
    }
    const iscale: f32 = big != 0 ? <f32>-127 / big : 0;
    store<f32>(f32At(xd, sb), big != 0 ? <f32>1 / iscale : 0);
    const s = f32x4.splat(iscale);
    for (let b = 0; b < 8; b++) {
      const src = p + (<usize>b << 7);
      const q = xq + (<usize>((sb << 3) + b) << 6);
      const c0 = codes8(src, s), c1 = codes8(src + 32, s), c2 = codes8(src + 64, s), c3 = codes8(src + 96, s);
      v128.store(q, c0);
      v128.store(q, c1, 16);
      v128.store(q, c2, 32);
      v128.store(q, c3, 48);
      const bs = xs + (<usize>((sb << 4) + 2 * b) << 1);
      store<i16>(bs, <i16>hsumI16(i16x8.add(c0, c1))); // |sum| <= 16·127
      store<i16>(bs, <i16>hsumI16(i16x8.add(c2, c3)), 2);
    }
  }
}

/**
 * Quantize `count` activations at x for the integer kernels: codes to xq
 * (count i16), scales to xd (f32: count/32 for GRID_Q8_0, count/256 for
 * GRID_Q8_K), and sums of codes to xs: per 32 as i32 (count/32) for
 * GRID_Q8_0, per 16 as i16 (count/16, block_q8_K's bsums) for GRID_Q8_K.
 * count must be a multiple of the grid's block.
 */
export function quantizeAct(grid: i32, x: usize, xq: usize, xd: usize, xs: usize, count: i32): void {
  if (grid == GRID_Q8_0) quantQ8_0(x, xq, xd, xs, count);
  else quantQ8K(x, xq, xd, xs, count);
}

/** The activations quantizeAct produced, back to f32 (code · block scale), for the prefill panels. */
export function dequantAct(grid: i32, xq: usize, xd: usize, dst: usize, count: i32): void {
  const shift = grid == GRID_Q8_0 ? 5 : 8;
  for (let i = 0; i < count; i += 8) {
    const c = v128.load(xq + (<usize>i << 1));
    const d = f32x4.splat(load<f32>(f32At(xd, i >> shift)));
    v128.store(f32At(dst, i), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(c)), d));
    v128.store(f32At(dst, i), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(c)), d), 16);
  }
}
