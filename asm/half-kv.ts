/**
 * A 16-bit (IEEE half) KV cache: the attention row kernels of vector.ts over
 * f16 keys/values, and the f32 -> f16 store the caches write with.
 *
 * Why: in decode the cache is streamed from DRAM every token (the weights
 * read in between evict it), so its bytes, not its arithmetic, set the time;
 * half the bytes of F32. llama.cpp's default cache is F16 too.
 *
 * Reading: a half's exponent and mantissa moved 13 bits up are the f32 bit
 * pattern of its value times 2^-112 (for subnormal halves too: they land on
 * f32 subnormals, exactly), so 4 ops per 4 values: widen (sign-extending),
 * shift, mask the sign-extension bits off, multiply by 2^112. Exact for
 * every finite half; exponent 31 (inf/NaN, which storeF16 never writes from
 * finite input) reads as the finite 2^16·1.m. The sums run in the same
 * order as dotGroup/axpyGroup (8 halves per load, then one group of 4, then
 * scalars), so a row gives the f32 kernels' result on the converted values.
 *
 * Writing (storeF16): round to nearest even, as ggml does, but saturating at
 * ±65504 instead of overflowing to infinity (an infinite key would turn its
 * whole softmax into NaN); NaN stays NaN.
 */
import { f32At, groupRow, groupWeight, hsum } from './common';

/** Sign bit + the 15 bits of a half moved to f32 position; clears the sign extension in bits 28..30. */
const HALF_MASK: u32 = 0x8fffe000;
const TWO_112: f32 = 5.192296858534828e33;

/** Halves 0..3 of v as f32 times 2^-112 (the multiply by 2^112 is left to the caller: see the file comment). */
@inline function rawLo(v: v128): v128 {
  return v128.and(i32x4.shl(i32x4.extend_low_i16x8_s(v), 13), i32x4.splat(HALF_MASK));
}

@inline function rawHi(v: v128): v128 {
  return v128.and(i32x4.shl(i32x4.extend_high_i16x8_s(v), 13), i32x4.splat(HALF_MASK));
}

@inline function halvesLo(v: v128): v128 {
  return f32x4.mul(rawLo(v), f32x4.splat(TWO_112));
}

@inline function halvesHi(v: v128): v128 {
  return f32x4.mul(rawHi(v), f32x4.splat(TWO_112));
}

/**
 * Queries below 2^16 in magnitude may carry the 2^112 instead of every key
 * (q·2^112 stays finite): the products, and so the sums, are the same
 * numbers (both factors are exact scalings), with 2 multiplies per 8 key
 * values instead of 8. Softmax weights (≤ 1) always can.
 */
const FOLD_LIMIT: f32 = 65536;

/** True if every |q[i]|, i < n, is below FOLD_LIMIT (NaN is not). */
export function foldable(q: usize, n: i32): bool {
  let m = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, f32x4.abs(v128.load(f32At(q, i))));
  let ok = i32x4.all_true(f32x4.lt(m, f32x4.splat(FOLD_LIMIT)));
  for (; i < n; i++) ok = ok && abs(load<f32>(f32At(q, i))) < FOLD_LIMIT;
  return ok;
}

@inline function half(p: usize): f32 {
  const x = <i32>load<i16>(p);
  return reinterpret<f32>((x << 13) & <i32>HALF_MASK) * TWO_112;
}

@inline function halfAt(base: usize, i: i32): usize {
  return base + (<usize>i << 1);
}

/**
 * dotGroup (vector.ts) over f16 keys; sb is the row stride in bytes. With
 * `folded` (foldable(q)), the query carries the 2^112.
 */
@inline export function dotGroupH(scores: usize, q: usize, keys: usize, sb: usize, j: i32, count: i32, d: i32, scale: f32, folded: bool): void {
  const k0 = keys + <usize>j * sb;
  const k1 = groupRow(k0, sb, j, 1, count);
  const k2 = groupRow(k0, sb, j, 2, count);
  const k3 = groupRow(k0, sb, j, 3, count);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  if (folded) {
    const t = f32x4.splat(TWO_112);
    for (; i + 8 <= d; i += 8) {
      const qa = f32x4.mul(v128.load(f32At(q, i)), t);
      const qb = f32x4.mul(v128.load(f32At(q, i + 4)), t);
      const o = <usize>i << 1;
      const v0 = v128.load(k0 + o), v1 = v128.load(k1 + o), v2 = v128.load(k2 + o), v3 = v128.load(k3 + o);
      a0 = f32x4.add(a0, f32x4.mul(qa, rawLo(v0)));
      a1 = f32x4.add(a1, f32x4.mul(qa, rawLo(v1)));
      a2 = f32x4.add(a2, f32x4.mul(qa, rawLo(v2)));
      a3 = f32x4.add(a3, f32x4.mul(qa, rawLo(v3)));
      a0 = f32x4.add(a0, f32x4.mul(qb, rawHi(v0)));
      a1 = f32x4.add(a1, f32x4.mul(qb, rawHi(v1)));
      a2 = f32x4.add(a2, f32x4.mul(qb, rawHi(v2)));
      a3 = f32x4.add(a3, f32x4.mul(qb, rawHi(v3)));
    }
  } else {
    for (; i + 8 <= d; i += 8) {
      const qa = v128.load(f32At(q, i));
      const qb = v128.load(f32At(q, i + 4));
      const o = <usize>i << 1;
      const v0 = v128.load(k0 + o), v1 = v128.load(k1 + o), v2 = v128.load(k2 + o), v3 = v128.load(k3 + o);
      a0 = f32x4.add(a0, f32x4.mul(qa, halvesLo(v0)));
      a1 = f32x4.add(a1, f32x4.mul(qa, halvesLo(v1)));
      a2 = f32x4.add(a2, f32x4.mul(qa, halvesLo(v2)));
      a3 = f32x4.add(a3, f32x4.mul(qa, halvesLo(v3)));
      a0 = f32x4.add(a0, f32x4.mul(qb, halvesHi(v0)));
      a1 = f32x4.add(a1, f32x4.mul(qb, halvesHi(v1)));
      a2 = f32x4.add(a2, f32x4.mul(qb, halvesHi(v2)));
      a3 = f32x4.add(a3, f32x4.mul(qb, halvesHi(v3)));
    }
  }
  if (i + 4 <= d) {
    // A last group of 4 in SIMD too, so the lanes sum as dotGroup's do (bit-equal results).
    const qa = v128.load(f32At(q, i));
    const o = <usize>i << 1;
    a0 = f32x4.add(a0, f32x4.mul(qa, halvesLo(v128.load64_zero(k0 + o))));
    a1 = f32x4.add(a1, f32x4.mul(qa, halvesLo(v128.load64_zero(k1 + o))));
    a2 = f32x4.add(a2, f32x4.mul(qa, halvesLo(v128.load64_zero(k2 + o))));
    a3 = f32x4.add(a3, f32x4.mul(qa, halvesLo(v128.load64_zero(k3 + o))));
    i += 4;
  }
  let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  for (; i < d; i++) {
    const qv = load<f32>(f32At(q, i));
    s0 += qv * half(halfAt(k0, i));
    s1 += qv * half(halfAt(k1, i));
    s2 += qv * half(halfAt(k2, i));
    s3 += qv * half(halfAt(k3, i));
  }
  store<f32>(f32At(scores, j), s0 * scale);
  if (j + 1 < count) store<f32>(f32At(scores, j + 1), s1 * scale);
  if (j + 2 < count) store<f32>(f32At(scores, j + 2), s2 * scale);
  if (j + 3 < count) store<f32>(f32At(scores, j + 3), s3 * scale);
}

/** axpyGroup (vector.ts) over f16 values; sb is the row stride in bytes. */
@inline export function axpyGroupH(out: usize, w: usize, values: usize, sb: usize, j: i32, count: i32, d: i32): void {
  const v0 = values + <usize>j * sb;
  const v1 = groupRow(v0, sb, j, 1, count);
  const v2 = groupRow(v0, sb, j, 2, count);
  const v3 = groupRow(v0, sb, j, 3, count);
  const c0 = load<f32>(f32At(w, j));
  const c1 = groupWeight(w, j, 1, count);
  const c2 = groupWeight(w, j, 2, count);
  const c3 = groupWeight(w, j, 3, count);
  const w0 = f32x4.splat(c0), w1 = f32x4.splat(c1), w2 = f32x4.splat(c2), w3 = f32x4.splat(c3);
  // Weights (softmax outputs, ≤ 1; callers pass nothing larger) carry the 2^112: see FOLD_LIMIT.
  const f0 = f32x4.splat(c0 * TWO_112), f1 = f32x4.splat(c1 * TWO_112), f2 = f32x4.splat(c2 * TWO_112), f3 = f32x4.splat(c3 * TWO_112);
  let i = 0;
  for (; i + 8 <= d; i += 8) {
    const o = <usize>i << 1;
    const r0 = v128.load(v0 + o), r1 = v128.load(v1 + o), r2 = v128.load(v2 + o), r3 = v128.load(v3 + o);
    let lo = v128.load(f32At(out, i));
    lo = f32x4.add(lo, f32x4.mul(f0, rawLo(r0)));
    lo = f32x4.add(lo, f32x4.mul(f1, rawLo(r1)));
    lo = f32x4.add(lo, f32x4.mul(f2, rawLo(r2)));
    lo = f32x4.add(lo, f32x4.mul(f3, rawLo(r3)));
    v128.store(f32At(out, i), lo);
    let hi = v128.load(f32At(out, i + 4));
    hi = f32x4.add(hi, f32x4.mul(f0, rawHi(r0)));
    hi = f32x4.add(hi, f32x4.mul(f1, rawHi(r1)));
    hi = f32x4.add(hi, f32x4.mul(f2, rawHi(r2)));
    hi = f32x4.add(hi, f32x4.mul(f3, rawHi(r3)));
    v128.store(f32At(out, i + 4), hi);
  }
  if (i + 4 <= d) {
    const o = <usize>i << 1;
    let lo = v128.load(f32At(out, i));
    lo = f32x4.add(lo, f32x4.mul(w0, halvesLo(v128.load64_zero(v0 + o))));
    lo = f32x4.add(lo, f32x4.mul(w1, halvesLo(v128.load64_zero(v1 + o))));
    lo = f32x4.add(lo, f32x4.mul(w2, halvesLo(v128.load64_zero(v2 + o))));
    lo = f32x4.add(lo, f32x4.mul(w3, halvesLo(v128.load64_zero(v3 + o))));
    v128.store(f32At(out, i), lo);
    i += 4;
  }
  for (; i < d; i++) {
    let a = load<f32>(f32At(out, i));
    a += c0 * half(halfAt(v0, i));
    a += c1 * half(halfAt(v1, i));
    a += c2 * half(halfAt(v2, i));
    a += c3 * half(halfAt(v3, i));
    store<f32>(f32At(out, i), a);
  }
}

/** dotRows over f16 keys (stride in elements). */
export function dotRowsH(scores: usize, q: usize, keys: usize, stride: i32, count: i32, d: i32, scale: f32): void {
  const sb = <usize>stride << 1;
  const folded = foldable(q, d);
  for (let j = 0; j < count; j += 4) dotGroupH(scores, q, keys, sb, j, count, d, scale, folded);
}

/** axpyRows over f16 values (stride in elements). */
export function axpyRowsH(out: usize, w: usize, values: usize, stride: i32, count: i32, d: i32): void {
  const sb = <usize>stride << 1;
  for (let j = 0; j < count; j += 4) axpyGroupH(out, w, values, sb, j, count, d);
}

/** dst[0..n) (f32) = src[0..n) (halves), exactly (exponent 31 as in the file comment). */
export function loadF16(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const v = v128.load(halfAt(src, i));
    v128.store(f32At(dst, i), halvesLo(v));
    v128.store(f32At(dst, i + 4), halvesHi(v));
  }
  for (; i < n; i++) store<f32>(f32At(dst, i), half(halfAt(src, i)));
}

/** |x| bits below this (2^-14) are subnormal halves. */
const MIN_NORMAL: u32 = 0x38800000;
/** Largest finite half magnitude (65504). */
const MAX_HALF: u32 = 0x7bff;

/** 4 f32 bit patterns -> 4 halves in the low 16 bits of each lane (see the file comment). */
@inline function toHalves(x: v128): v128 {
  const sign = v128.and(i32x4.shr_u(x, 16), i32x4.splat(0x8000));
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  // Normal: rebias the exponent (127 -> 15), round the 13 dropped bits to nearest even.
  const n = i32x4.sub(a, i32x4.splat(0x38000000));
  const hn = i32x4.shr_u(i32x4.add(i32x4.add(n, i32x4.splat(0x0fff)), v128.and(i32x4.shr_u(n, 13), i32x4.splat(1))), 13);
  // Subnormal: 0.5 + |x| rounds |x| to a multiple of 2^-24 (0.5's ulp); its low bits count them.
  const hs = i32x4.sub(f32x4.add(a, f32x4.splat(0.5)), i32x4.splat(0x3f000000));
  const h = v128.bitselect(hs, i32x4.min_u(hn, i32x4.splat(MAX_HALF)), i32x4.lt_u(a, i32x4.splat(MIN_NORMAL)));
  const nan = i32x4.gt_u(a, i32x4.splat(0x7f800000));
  return v128.or(v128.bitselect(i32x4.splat(0x7e00), h, nan), sign);
}

@inline function toHalf(v: f32): u16 {
  const x = reinterpret<u32>(v);
  const sign = (x >> 16) & 0x8000;
  const a = x & 0x7fffffff;
  if (a > 0x7f800000) return <u16>(sign | 0x7e00);
  if (a < MIN_NORMAL) return <u16>(sign | (reinterpret<u32>(reinterpret<f32>(a) + 0.5) - 0x3f000000));
  const n = a - 0x38000000;
  return <u16>(sign | min((n + 0x0fff + ((n >> 13) & 1)) >> 13, MAX_HALF));
}

/** dst[0..n) (halves) = src[0..n) (f32), rounded to nearest even, saturating at ±65504. */
export function storeF16(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const lo = toHalves(v128.load(f32At(src, i)));
    const hi = toHalves(v128.load(f32At(src, i + 4)));
    v128.store(halfAt(dst, i), i16x8.narrow_i32x4_u(lo, hi));
  }
  for (; i < n; i++) store<u16>(halfAt(dst, i), toHalf(load<f32>(f32At(src, i))));
}
