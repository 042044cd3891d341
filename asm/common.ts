/**
 * Shared SIMD helpers for the kernels. Everything here is inlined: wasm has no
 * cheap calls inside a hot loop, and V8 only keeps values in xmm registers
 * within one function.
 *
 * Pointers are byte addresses in the one linear memory; the JS side owns the
 * allocator, so nothing in asm/ ever allocates (the module uses the stub
 * runtime and must keep no data segments a second instance would rewrite).
 */

/** ggml type ids (src/tensor/dtype.ts GgmlType) the kernels handle. */
export const T_F32: i32 = 0;
export const T_F16: i32 = 1;
export const T_Q4_0: i32 = 2;
export const T_Q8_0: i32 = 8;
export const T_Q4_K: i32 = 12;
export const T_Q6_K: i32 = 14;
export const T_BF16: i32 = 30;

/**
 * Row r (0..3) of the 4-row group starting at row j of a cache run, for the
 * attention row kernels (vector.ts, half-kv.ts): rows past `count` alias row
 * j (valid memory), and groupWeight gives them weight 0.
 */
@inline export function groupRow(row0: usize, sb: usize, j: i32, r: i32, count: i32): usize {
  return j + r < count ? row0 + <usize>r * sb : row0;
}

/** Softmax weight w[j + r], or 0 for a row past `count` (see groupRow). */
@inline export function groupWeight(w: usize, j: i32, r: i32, count: i32): f32 {
  return j + r < count ? load<f32>(f32At(w, j + r)) : 0;
}

/** Sum of the 4 lanes of an f32x4. */
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/**
 * w0·x0 + w1·x1 lane by lane: the step of every F32 matvec (float.ts,
 * packed.ts), one accumulator per row instead of two, so two rows' streams
 * fit in V8's 16 xmm registers (packed.ts mvF32x4).
 */
@inline export function pairF32(w0: v128, x0: v128, w1: v128, x1: v128): v128 {
  return f32x4.add(f32x4.mul(w0, x0), f32x4.mul(w1, x1));
}

/** Sum of an f32x4's lanes in f64, for reductions whose rounding we care about. */
@inline export function widenAdd(acc: v128, v: v128): v128 {
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f64x2.add(acc, f64x2.add(lo, hi));
}

@inline export function hsumD(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/**
 * Exact IEEE half -> f32 for 4 halves held zero-extended in i32 lanes.
 * The 15 exponent+mantissa bits shifted into f32 position give 2^-112 times
 * the value (also for subnormal halves, which land on f32 subnormals), so one
 * multiply by 2^112 rescales exactly. Inf/NaN (exponent 31) come out at
 * >= 2^16 and get the f32 exponent forced to all ones.
 */
@inline export function halfToF32x4(h: v128): v128 {
  const bits = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  let f = f32x4.mul(bits, f32x4.splat(reinterpret<f32>(0x77800000)));
  const special = f32x4.ge(f, f32x4.splat(65536.0));
  f = v128.or(f, v128.and(special, i32x4.splat(0x7f800000)));
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** 2^112: a finite half's bits moved into f32 position (halfBitsScaled) are its value times 2^-112. */
export const TWO_112: f32 = reinterpret<f32>(0x77800000);

/**
 * Four finite halves, given as t = h << 16 per i32 lane, as f32 values
 * times 2^-112, exactly: sign kept, exponent and mantissa moved down 3 bits
 * (an arithmetic shift copies the sign, the mask clears the copies). 3 ops.
 * For block scales: f32(half · y) = (halves·2^-112) · (y·2^112) with the
 * same single rounding (both are the same real product; y·2^112 is exact
 * for |y| < 2^16, as activation scales are), so the 2^112 goes into the
 * other factor, computed once, instead of into every conversion.
 */
@inline export function halfBitsScaled(t: v128): v128 {
  return v128.and(i32x4.shr_s(t, 3), i32x4.splat(0x8fffe000));
}

/** halfBitsScaled of the 4 halves at p. */
@inline export function halvesScaled4(p: usize): v128 {
  return halfBitsScaled(i32x4.shl(v128.load16x4_u(p), 16));
}

/**
 * halfToF32x4 for finite halves only (inf/NaN come out as large finite
 * values): 6 ops instead of 9. For the packed kernels, whose packMatrix
 * refuses a matrix with any inf/NaN scale (it then stays in ggml's layout
 * and takes the exact kernels).
 */
@inline export function finiteHalfToF32x4(h: v128): v128 {
  const t = i32x4.shl(h, 16); // sign at bit 31, exponent and mantissa at 16..30
  const mag = i32x4.shr_u(v128.and(t, i32x4.splat(0x7fff0000)), 3);
  return v128.or(f32x4.mul(mag, f32x4.splat(reinterpret<f32>(0x77800000))), v128.and(t, i32x4.splat(0x80000000)));
}

/**
 * Block scales (one f16 per 32 weights) go through a 65536-entry f32 table
 * that the host fills with the oracle's exact conversion: one load instead
 * of ~8 scalar ops, which was ~30% of a Q8_0 matvec. The table pointer is a
 * per-instance global, set once by every thread.
 */
let halfTable: usize = 0;

export function setHalfTable(p: usize): void {
  halfTable = p;
}

@inline export function halfScale(h: u32): f32 {
  return load<f32>(halfTable + (<usize>(h & 0xffff) << 2));
}

/** The same conversion as halfToF32x4 for one half. */
@inline export function half(h: u32): f32 {
  let f = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000);
  let b = reinterpret<u32>(f);
  if (f >= 65536.0) b |= 0x7f800000;
  return reinterpret<f32>(b | ((h & 0x8000) << 16));
}

/** bf16 is the top half of an f32: widening is a shift. */
@inline export function bf16ToF32x4(h: v128): v128 {
  return i32x4.shl(h, 16);
}

/**
 * e^x for 4 lanes, about 1-2 ulp: x = n·ln2 + r with |r| <= ln2/2 (ln2 split
 * in two so n·ln2_hi is exact), e^r by its Taylor series to degree 7
 * (truncation error < 5e-9), then 2^n built in the exponent bits. n is
 * rounded by adding 1.5·2^23 (the sum's low mantissa bits are then n), which
 * avoids wasm's saturating float->int conversion, a long sequence on x86.
 * Inputs below ~-87.3 (where 2^n would go subnormal) and -Infinity give 0.
 * Clamps use pmin/pmax (one x86 instruction; IEEE min/max take ~8).
 */
@inline export function exp4(x: v128): v128 {
  const xc = f32x4.pmin(x, f32x4.splat(88.3));
  const live = f32x4.ge(xc, f32x4.splat(-87.33));
  const xl = f32x4.pmax(xc, f32x4.splat(-87.33));
  const magic = f32x4.splat(12582912.0);
  const t = f32x4.add(f32x4.mul(xl, f32x4.splat(1.4426950408889634)), magic);
  const n = f32x4.sub(t, magic);
  let r = f32x4.sub(xl, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.add(r, f32x4.mul(n, f32x4.splat(2.12194440e-4)));
  let p = f32x4.splat(<f32>(1.0 / 5040.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 720.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 120.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 24.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 6.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  // bits(t) = bits(1.5·2^23) + n, and bits(1.5·2^23) << 23 wraps to 0.
  const scale = i32x4.add(i32x4.shl(t, 23), i32x4.splat(127 << 23));
  return v128.and(f32x4.mul(p, scale), live);
}

/** Scalar e^x through the same lane code, for loop tails (keeps tails bit-identical to bodies). */
@inline export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/** Byte address of element i of an f32 array. */
@inline export function f32At(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/**
 * x86's vfmadd (ggml-cpu's _mm256_fmadd_ps), which the integer kernels
 * reproduce: f32(a·b + c) with one rounding. wasm128 has no fused
 * multiply-add; in f64 the product of two f32 (or of an f32 and an integer
 * below 2^29) is exact, so only the sum rounds twice (to f64, then to f32),
 * which differs from a single rounding with probability about 2^-29.
 */
@inline export function fma1(a: f32, b: f32, c: f32): f32 {
  return <f32>(<f64>a * <f64>b + <f64>c);
}

/** fma1 on the low two f32 lanes of a, with b and c in f64 lanes holding f32 values (result likewise). */
@inline export function fma2(a: v128, b: v128, c: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(a), b), c)));
}

/**
 * fma1 on 4 lanes: f32(a·b + c) rounded once, as llama.cpp's Q4_0 gemv
 * (x86 vfmadd) does per block. The relaxed-SIMD build uses
 * `f32x4.relaxed_madd`, which V8 emits as vfmadd wherever the CPU has FMA
 * (every x86-64 of the last decade; ARM64 always fuses): one instruction,
 * and the same bits as the f64 emulation except where that rounds twice
 * (probability about 2^-29). The plain build emulates it in f64 (14 ops).
 */
@inline export function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  const lo = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)), f64x2.promote_low_f32x4(c)));
  const ah = v128.shuffle<i32>(a, a, 2, 3, 2, 3), bh = v128.shuffle<i32>(b, b, 2, 3, 2, 3), ch = v128.shuffle<i32>(c, c, 2, 3, 2, 3);
  const hi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(ah), f64x2.promote_low_f32x4(bh)), f64x2.promote_low_f32x4(ch)));
  return v128.shuffle<i32>(lo, hi, 0, 1, 4, 5);
}

/** [sum of a's lanes, of b's, of c's, of d's], with interleaves only (single x86 unpack instructions). */
@inline export function totals4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(a, b, 2, 6, 3, 7)); // [a02, b02, a13, b13]
  const cd = i32x4.add(v128.shuffle<i32>(c, d, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 2, 6, 3, 7));
  return i32x4.add(v128.shuffle<i32>(ab, cd, 0, 1, 4, 5), v128.shuffle<i32>(ab, cd, 2, 3, 6, 7));
}

/** Sum of the 4 i32 lanes. */
@inline export function itotal(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** The f16 block scales at a, b, c, d as an f32x4. */
@inline export function scales4(a: usize, b: usize, c: usize, d: usize): v128 {
  let v = f32x4.splat(halfScale(load<u16>(a)));
  v = f32x4.replace_lane(v, 1, halfScale(load<u16>(b)));
  v = f32x4.replace_lane(v, 2, halfScale(load<u16>(c)));
  return f32x4.replace_lane(v, 3, halfScale(load<u16>(d)));
}
