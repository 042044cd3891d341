/**
 * Integer-weight matvec (n = 1, decode): Q8_0, Q4_0, Q4_K, Q6_K against
 * activations quantized once per call to i16 values in blocks of 32 with an
 * f32 scale. (Prefill, n > 1, goes through float.ts mmPanel instead.)
 *
 * Changes against the scalar oracle:
 * - activations are quantized (the oracle uses them in f32), to 16-bit
 *   integers in blocks of 32 with an f32 scale amax/32767. notes/cpu-kernels.md
 *   found pre-widening int8 activations to i16 the fastest Q8 form
 *   (`i32x4.dot_i16x8_s`, no relaxed SIMD); since the lanes are i16 anyway we
 *   use their full range, not ggml's 8 bits: the same instructions, 256x less
 *   rounding. The only extra error is each activation's rounding to its
 *   block's grid: |err| <= sum over blocks of (amax_b/32767/2)·sum|w| in block b.
 *   Sums cannot overflow i32: the worst lane (Q6_K: 4 products of 32·32767,
 *   times a scale of 128, two such added) stays below 1.1e9.
 * - per 32-element block the integer dot is converted once and scaled by
 *   d_w·d_x into f32 lanes.
 * - Q4_K's "-dmin·m" term uses the exact f32 sum of the activation block
 *   (no quantization error), not ggml's sum of quantized values.
 * - Q8_0/Q4_0 take 4 rows per pass (shared activation loads); the K-quants
 *   take one row per pass: their scales need 16-32 scalars per row and block.
 */
import { f32At, halfScale, hsum } from './common';

/** Bytes per 256-element super-block. */
export const Q4K_BYTES: i32 = 144;
export const Q6K_BYTES: i32 = 210;

/** Largest activation code: activations are rounded to amax/QMAX steps. */
const QMAX: f32 = 32767;

/**
 * x (count) f32 -> xq (count) i16, xd (count/32) f32 scale, xs (count/32) f32 sum.
 * count must be a multiple of 32.
 */
export function quantizeAct(x: usize, xq: usize, xd: usize, xs: usize, count: i32): void {
  const nb = count >> 5;
  for (let b = 0; b < nb; b++) {
    const p = x + (<usize>b << 7);
    let m = f32x4.splat(0);
    let s = f32x4.splat(0);
    for (let k = 0; k < 8; k++) {
      const v = v128.load(p + (<usize>k << 4));
      m = f32x4.pmax(m, f32x4.abs(v));
      s = f32x4.add(s, v);
    }
    m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
    const amax = max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
    const d: f32 = amax / QMAX;
    const id = f32x4.splat(amax > 0 ? QMAX / amax : 0);
    const q = xq + (<usize>b << 6);
    for (let k = 0; k < 4; k++) {
      const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p + (<usize>k << 5)), id)));
      const hi = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p + (<usize>k << 5), 16), id)));
      v128.store(q + (<usize>k << 4), i16x8.narrow_i32x4_s(lo, hi));
    }
    store<f32>(f32At(xd, b), d);
    store<f32>(f32At(xs, b), hsum(s));
  }
}

/** Integer dot of 32 int8 weights at p (sign-extended on load) with 32 i16 activations at q. */
@inline function dotQ8(p: usize, q: usize): v128 {
  let s = i32x4.dot_i16x8_s(v128.load8x8_s(p), v128.load(q));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 8), v128.load(q, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 16), v128.load(q, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 24), v128.load(q, 48)));
}

/**
 * Integer dot of one Q4_0 block's 16 bytes (nibble - 8) with 32 i16
 * activations. Bytes are widened to i16 on load, so the nibble split is a
 * native 16-bit and/shift (wasm has no cheap 8-bit shift on x86).
 */
@inline function dotQ4(p: usize, q: usize): v128 {
  const a = v128.load8x8_u(p);
  const b = v128.load8x8_u(p, 8);
  const m = i16x8.splat(0x0f);
  const e = i16x8.splat(8);
  let s = i32x4.dot_i16x8_s(i16x8.sub(v128.and(a, m), e), v128.load(q));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.sub(v128.and(b, m), e), v128.load(q, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.sub(i16x8.shr_u(a, 4), e), v128.load(q, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.sub(i16x8.shr_u(b, 4), e), v128.load(q, 48)));
}

@inline function blockDot(p: usize, q: usize, q4: bool): v128 {
  return q4 ? dotQ4(p, q) : dotQ8(p, q);
}

/**
 * Q8_0 (34-byte blocks: f16 d, int8[32]) or Q4_0 (18-byte blocks: f16 d,
 * 16 bytes of nibbles: low = element j, high = element j + 16).
 */
@inline function mvQ0(out: usize, w: usize, xq: usize, xd: usize, cols: i32, r0: i32, r1: i32, q4: bool): void {
  const nb = cols >> 5;
  const bb: usize = q4 ? 18 : 34;
  const rb = <usize>nb * bb;
  for (let r = r0; r < r1; r += 4) {
    const p0 = w + <usize>r * rb;
    const p1 = r + 1 < r1 ? p0 + rb : p0;
    const p2 = r + 2 < r1 ? p0 + 2 * rb : p0;
    const p3 = r + 3 < r1 ? p0 + 3 * rb : p0;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const o = <usize>b * bb;
      const q = xq + (<usize>b << 6);
      const dx = load<f32>(f32At(xd, b));
      a0 = f32x4.add(a0, f32x4.mul(f32x4.convert_i32x4_s(blockDot(p0 + o + 2, q, q4)), f32x4.splat(halfScale(load<u16>(p0 + o)) * dx)));
      a1 = f32x4.add(a1, f32x4.mul(f32x4.convert_i32x4_s(blockDot(p1 + o + 2, q, q4)), f32x4.splat(halfScale(load<u16>(p1 + o)) * dx)));
      a2 = f32x4.add(a2, f32x4.mul(f32x4.convert_i32x4_s(blockDot(p2 + o + 2, q, q4)), f32x4.splat(halfScale(load<u16>(p2 + o)) * dx)));
      a3 = f32x4.add(a3, f32x4.mul(f32x4.convert_i32x4_s(blockDot(p3 + o + 2, q, q4)), f32x4.splat(halfScale(load<u16>(p3 + o)) * dx)));
    }
    store<f32>(f32At(out, r), hsum(a0));
    if (r + 1 < r1) store<f32>(f32At(out, r + 1), hsum(a1));
    if (r + 2 < r1) store<f32>(f32At(out, r + 2), hsum(a2));
    if (r + 3 < r1) store<f32>(f32At(out, r + 3), hsum(a3));
  }
}

// Separate entry points so `q4` is a constant inside each inlined loop.
export function mvQ8_0(out: usize, w: usize, xq: usize, xd: usize, cols: i32, r0: i32, r1: i32): void {
  mvQ0(out, w, xq, xd, cols, r0, r1, false);
}
export function mvQ4_0(out: usize, w: usize, xq: usize, xd: usize, cols: i32, r0: i32, r1: i32): void {
  mvQ0(out, w, xq, xd, cols, r0, r1, true);
}

/**
 * Q4_K sub-block j's 6-bit scale (which = 0) or min (which = 1), from the
 * 12 packed bytes at s: sub-blocks 0-3 keep theirs in the low 6 bits of
 * bytes j and j+4; 4-7 split theirs into a nibble of byte j+4 and the top
 * 2 bits of byte j-4 (scale) or j (min).
 */
@inline export function q4kScale(s: usize, j: i32, which: i32): u32 {
  if (j < 4) return <u32>load<u8>(s + j + 4 * which) & 63;
  const lo = (<u32>load<u8>(s + j + 4) >> (4 * which)) & 0xf;
  return lo | ((<u32>load<u8>(s + j - 4 + 4 * which) >> 6) << 4);
}

/** Unsigned nibbles (16 bytes) . 16 i16 activations. */
@inline function dotNib(v: v128, q: usize): v128 {
  const s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(v), v128.load(q));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(v), v128.load(q, 16)));
}

/**
 * Q4_K super-blocks (f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes of
 * nibbles): element 64c + l is the low nibble of qs[32c + l], element
 * 64c + 32 + l its high nibble; value = d·scale_j·q - dmin·min_j.
 */
export function mvQ4K(out: usize, w: usize, xq: usize, xd: usize, xs: usize, cols: i32, r0: i32, r1: i32): void {
  const ns = cols >> 8;
  const rb = <usize>ns * Q4K_BYTES;
  const mask = i8x16.splat(0x0f);
  for (let r = r0; r < r1; r++) {
    let acc = f32x4.splat(0);
    let mins: f32 = 0;
    for (let sb = 0; sb < ns; sb++) {
      const p = w + <usize>r * rb + <usize>sb * Q4K_BYTES;
      const d = halfScale(load<u16>(p));
      const dmin = halfScale(load<u16>(p, 2));
      const sc = p + 4;
      const qs = p + 16;
      for (let c = 0; c < 4; c++) {
        const ba = (sb << 3) + 2 * c; // activation block of the low nibbles; ba + 1 takes the high ones
        const v0 = v128.load(qs + (<usize>c << 5));
        const v1 = v128.load(qs + (<usize>c << 5), 16);
        const qa = xq + (<usize>ba << 6);
        const sa = i32x4.add(dotNib(v128.and(v0, mask), qa), dotNib(v128.and(v1, mask), qa + 32));
        const qb = qa + 64;
        const sB = i32x4.add(dotNib(i8x16.shr_u(v0, 4), qb), dotNib(i8x16.shr_u(v1, 4), qb + 32));
        const dxa = load<f32>(f32At(xd, ba));
        const dxb = load<f32>(f32At(xd, ba + 1));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(sa), f32x4.splat(d * <f32>q4kScale(sc, 2 * c, 0) * dxa)));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(sB), f32x4.splat(d * <f32>q4kScale(sc, 2 * c + 1, 0) * dxb)));
        mins += dmin * <f32>q4kScale(sc, 2 * c, 1) * load<f32>(f32At(xs, ba));
        mins += dmin * <f32>q4kScale(sc, 2 * c + 1, 1) * load<f32>(f32At(xs, ba + 1));
      }
    }
    store<f32>(f32At(out, r), hsum(acc) - mins);
  }
}

/**
 * The 6-bit values (minus 32) of one Q6_K group: low nibbles from `l`
 * (low or high half of each byte), 2 high bits from `h` at bit `shift`.
 */
@inline function q6Group(l: v128, highNibble: bool, h: v128, shift: i32): v128 {
  const lo = highNibble ? i8x16.shr_u(l, 4) : v128.and(l, i8x16.splat(0x0f));
  const hi = i8x16.shl(v128.and(i8x16.shr_u(h, shift), i8x16.splat(3)), 4);
  return i8x16.sub(v128.or(lo, hi), i8x16.splat(32));
}

@inline function dotS16(v: v128, q: usize): v128 {
  const s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(q));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load(q, 16)));
}

/**
 * Q6_K super-blocks (ql[128], qh[64], int8 scales[16], f16 d). Each half of
 * 128 elements uses 64 ql bytes, 32 qh bytes and 8 scales: element
 * 32g + l (g < 4, l < 32) takes a nibble of ql[l + 32·(g & 1)] (the low one
 * for g < 2, the high one for g >= 2), bits 2g..2g+1 of qh[l], and
 * scale[l/16 + 2g]; value = d·scale·(q - 32).
 */
export function mvQ6K(out: usize, w: usize, xq: usize, xd: usize, cols: i32, r0: i32, r1: i32): void {
  const ns = cols >> 8;
  const rb = <usize>ns * Q6K_BYTES;
  for (let r = r0; r < r1; r++) {
    let acc = f32x4.splat(0);
    for (let sb = 0; sb < ns; sb++) {
      const p = w + <usize>r * rb + <usize>sb * Q6K_BYTES;
      const d = halfScale(load<u16>(p, 208));
      for (let h = 0; h < 2; h++) {
        const ql = p + (<usize>h << 6);
        const qh = p + 128 + (<usize>h << 5);
        const sc = p + 192 + (<usize>h << 3);
        const l0a = v128.load(ql), l0b = v128.load(ql, 16);
        const l1a = v128.load(ql, 32), l1b = v128.load(ql, 48);
        const ha = v128.load(qh), hb = v128.load(qh, 16);
        const base = (sb << 3) + (h << 2); // activation block of group 0
        for (let g = 0; g < 4; g++) {
          const odd = (g & 1) != 0;
          const high = g >= 2;
          const ga = q6Group(odd ? l1a : l0a, high, ha, 2 * g);
          const gb = q6Group(odd ? l1b : l0b, high, hb, 2 * g);
          const q = xq + (<usize>(base + g) << 6);
          const sa = i32x4.mul(dotS16(ga, q), i32x4.splat(<i32>load<i8>(sc + 2 * g)));
          const sbv = i32x4.mul(dotS16(gb, q + 32), i32x4.splat(<i32>load<i8>(sc + 2 * g + 1)));
          const dx = load<f32>(f32At(xd, base + g));
          acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(sa, sbv)), f32x4.splat(d * dx)));
        }
      }
    }
    store<f32>(f32At(out, r), hsum(acc));
  }
}
