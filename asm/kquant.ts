/**
 * Integer-weight matvec (n = 1, decode) for the K-quants, Q4_K and Q6_K,
 * against Q8_K activations (act.ts), summed as llama.cpp's x86-64 kernels
 * sum them (see quant.ts for why), bit for bit:
 * - Q4_K: llama.cpp repacks Q4_K matrices (rows a multiple of 8); its gemv
 *   (arch/x86/repack.cpp ggml_gemv_q4_K_8x8_q8_K) keeps per row, per
 *   super-block, A = fma(f32(sum_j scale_j·dot_j), d·d_x, A) and
 *   M = fma(f32(sum_j min_j·bsum_j), dmin·d_x, M), and returns A - M.
 * - Q6_K: ggml_vec_dot_q6_K_q8_K (arch/x86/quants.c, AVX2 path): 8 integer
 *   lanes, lane k holding scale·q·x for elements 4k..4k+3 of every 32 (q
 *   the unsigned 6-bit code) minus 32·scale·bsum of the 16-groups 2k and
 *   2k+1; per super-block lane = fma(f32(lane), d·d_x, lane); then
 *   hsum_float_8: ((l4 + l0) + (l6 + l2)) + ((l5 + l1) + (l7 + l3)).
 * (For matrices whose row count is not a multiple of 8, llama.cpp uses
 * ggml_vec_dot_q4_K_q8_K instead, which rounds differently in the last bits.)
 *
 * Integer sums are exact in i32 (worst lane: Q6_K, 8 groups of 4 products
 * of 63·127 times scales up to 128, about 3.3e7); like ggml, we round them
 * to f32 before scaling. One row per pass: the scales need 16-32 scalars
 * per row and super-block.
 */
import { f32At, fma1, fma2, halfScale, hsum, itotal } from './common';

/** Bytes per 256-element super-block. */
export const Q4K_BYTES: i32 = 144;
export const Q6K_BYTES: i32 = 210;

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
 * 64c + 32 + l its high nibble; value = d·scale_j·q - dmin·min_j. As
 * ggml's repacked gemv: per super-block A = fma(f32(sum_j scale_j·dot_j),
 * d·d_x, A) and M = fma(f32(sum_j min_j·bsum_j), dmin·d_x, M); out = A - M.
 */
export function mvQ4K(out: usize, w: usize, xq: usize, xd: usize, xs: usize, cols: i32, r0: i32, r1: i32): void {
  const ns = cols >> 8;
  const rb = <usize>ns * Q4K_BYTES;
  const mask = i8x16.splat(0x0f);
  for (let r = r0; r < r1; r++) {
    let acc: f32 = 0;
    let accMin: f32 = 0;
    for (let sb = 0; sb < ns; sb++) {
      const p = w + <usize>r * rb + <usize>sb * Q4K_BYTES;
      const sc = p + 4;
      const qs = p + 16;
      const bs = xs + (<usize>sb << 5); // 16 i16 code sums
      let isum = i32x4.splat(0);
      let msum: i32 = 0;
      for (let c = 0; c < 4; c++) {
        const ba = (sb << 3) + 2 * c; // activation block of the low nibbles; ba + 1 takes the high ones
        const v0 = v128.load(qs + (<usize>c << 5));
        const v1 = v128.load(qs + (<usize>c << 5), 16);
        const qa = xq + (<usize>ba << 6);
        const sa = i32x4.add(dotNib(v128.and(v0, mask), qa), dotNib(v128.and(v1, mask), qa + 32));
        const qb = qa + 64;
        const sB = i32x4.add(dotNib(i8x16.shr_u(v0, 4), qb), dotNib(i8x16.shr_u(v1, 4), qb + 32));
        isum = i32x4.add(isum, i32x4.mul(sa, i32x4.splat(<i32>q4kScale(sc, 2 * c, 0))));
        isum = i32x4.add(isum, i32x4.mul(sB, i32x4.splat(<i32>q4kScale(sc, 2 * c + 1, 0))));
        const o = <usize>c << 3;
        msum += <i32>q4kScale(sc, 2 * c, 1) * (<i32>load<i16>(bs + o) + <i32>load<i16>(bs + o, 2));
        msum += <i32>q4kScale(sc, 2 * c + 1, 1) * (<i32>load<i16>(bs + o, 4) + <i32>load<i16>(bs + o, 6));
      }
      const dx = load<f32>(f32At(xd, sb));
      acc = fma1(<f32>itotal(isum), halfScale(load<u16>(p)) * dx, acc);
      accMin = fma1(<f32>msum, halfScale(load<u16>(p, 2)) * dx, accMin);
    }
    store<f32>(f32At(out, r), acc - accMin);
  }
}

/**
 * The unsigned 6-bit codes of one Q6_K group of 16: low nibbles from `l`
 * (low or high half of each byte), 2 high bits from `h` at bit `shift`.
 */
@inline function q6Codes(l: v128, highNibble: bool, h: v128, shift: i32): v128 {
  const lo = highNibble ? i8x16.shr_u(l, 4) : v128.and(l, i8x16.splat(0x0f));
  return v128.or(lo, i8x16.shl(v128.and(i8x16.shr_u(h, shift), i8x16.splat(3)), 4));
}

/** Unsigned codes (16 bytes) . 16 i16 activations: two i32x4 of pair sums (elements 2m, 2m+1). */
@inline function pairsLo(v: v128, q: usize): v128 {
  return i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(v), v128.load(q));
}
@inline function pairsHi(v: v128, q: usize): v128 {
  return i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(v), v128.load(q, 16));
}

/** ggml's lanes from pair sums: [p0+p1, p2+p3] of a, then of b (4 consecutive elements each). */
@inline function quadLanes(a: v128, b: v128): v128 {
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 2, 4, 6), v128.shuffle<i32>(a, b, 1, 3, 5, 7));
}

/**
 * Q6_K super-blocks (ql[128], qh[64], int8 scales[16], f16 d). Each half of
 * 128 elements uses 64 ql bytes, 32 qh bytes and 8 scales: element
 * 32g + l (g < 4, l < 32) takes a nibble of ql[l + 32·(g & 1)] (the low one
 * for g < 2, the high one for g >= 2), bits 2g..2g+1 of qh[l], and
 * scale[l/16 + 2g]; value = d·scale·(q - 32).
 * Summed as ggml's vec_dot_q6_K_q8_K (AVX2): 8 integer lanes, lane k (here
 * lanes 0-3 in `lo`, 4-7 in `hi`) holding scale·q·x for elements 4k..4k+3
 * of every 32, minus 32·scale·bsum for the 16-groups 2k and 2k+1; per
 * super-block lane = fma(f32(lane), d·d_x, lane); then ggml's hsum_float_8.
 */
export function mvQ6K(out: usize, w: usize, xq: usize, xd: usize, xs: usize, cols: i32, r0: i32, r1: i32): void {
  const ns = cols >> 8;
  const rb = <usize>ns * Q6K_BYTES;
  for (let r = r0; r < r1; r++) {
    // ggml's 8 f32 lanes, two per f64x2 (each always holding an f32 value).
    let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0), acc2 = f64x2.splat(0), acc3 = f64x2.splat(0);
    for (let sb = 0; sb < ns; sb++) {
      const p = w + <usize>r * rb + <usize>sb * Q6K_BYTES;
      // Pair sums of elements 0-7 / 8-15 / 16-23 / 24-31 of each 32, times their scale, summed over
      // the 8 groups; pairing them into ggml's 4-element lanes once per super-block is exact.
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), b0 = i32x4.splat(0), b1 = i32x4.splat(0);
      for (let h = 0; h < 2; h++) {
        const ql = p + (<usize>h << 6);
        const qh = p + 128 + (<usize>h << 5);
        const sc = p + 192 + (<usize>h << 3);
        const q = xq + (<usize>((sb << 3) + (h << 2)) << 6); // activations of group 0
        // Groups 0-3 written out, so that shifts and nibble choices are constants.
        let ca = q6Codes(v128.load(ql), false, v128.load(qh), 0);
        let cb = q6Codes(v128.load(ql, 16), false, v128.load(qh, 16), 0);
        let sa = i32x4.splat(<i32>load<i8>(sc)), sB = i32x4.splat(<i32>load<i8>(sc, 1));
        a0 = i32x4.add(a0, i32x4.mul(pairsLo(ca, q), sa));
        a1 = i32x4.add(a1, i32x4.mul(pairsHi(ca, q), sa));
        b0 = i32x4.add(b0, i32x4.mul(pairsLo(cb, q + 32), sB));
        b1 = i32x4.add(b1, i32x4.mul(pairsHi(cb, q + 32), sB));
        ca = q6Codes(v128.load(ql, 32), false, v128.load(qh), 2);
        cb = q6Codes(v128.load(ql, 48), false, v128.load(qh, 16), 2);
        sa = i32x4.splat(<i32>load<i8>(sc, 2));
        sB = i32x4.splat(<i32>load<i8>(sc, 3));
        a0 = i32x4.add(a0, i32x4.mul(pairsLo(ca, q + 64), sa));
        a1 = i32x4.add(a1, i32x4.mul(pairsHi(ca, q + 64), sa));
        b0 = i32x4.add(b0, i32x4.mul(pairsLo(cb, q + 96), sB));
        b1 = i32x4.add(b1, i32x4.mul(pairsHi(cb, q + 96), sB));
        ca = q6Codes(v128.load(ql), true, v128.load(qh), 4);
        cb = q6Codes(v128.load(ql, 16), true, v128.load(qh, 16), 4);
        sa = i32x4.splat(<i32>load<i8>(sc, 4));
        sB = i32x4.splat(<i32>load<i8>(sc, 5));
        a0 = i32x4.add(a0, i32x4.mul(pairsLo(ca, q + 128), sa));
        a1 = i32x4.add(a1, i32x4.mul(pairsHi(ca, q + 128), sa));
        b0 = i32x4.add(b0, i32x4.mul(pairsLo(cb, q + 160), sB));
        b1 = i32x4.add(b1, i32x4.mul(pairsHi(cb, q + 160), sB));
        ca = q6Codes(v128.load(ql, 32), true, v128.load(qh), 6);
        cb = q6Codes(v128.load(ql, 48), true, v128.load(qh, 16), 6);
        sa = i32x4.splat(<i32>load<i8>(sc, 6));
        sB = i32x4.splat(<i32>load<i8>(sc, 7));
        a0 = i32x4.add(a0, i32x4.mul(pairsLo(ca, q + 192), sa));
        a1 = i32x4.add(a1, i32x4.mul(pairsHi(ca, q + 192), sa));
        b0 = i32x4.add(b0, i32x4.mul(pairsLo(cb, q + 224), sB));
        b1 = i32x4.add(b1, i32x4.mul(pairsHi(cb, q + 224), sB));
      }
      let lo = quadLanes(a0, a1);
      let hi = quadLanes(b0, b1);
      // The codes' offset of 32: lane k loses 32·(scale·bsum) of 16-groups 2k, 2k+1.
      const scales = v128.load(p + 192);
      const bs = xs + (<usize>sb << 5);
      lo = i32x4.sub(lo, i32x4.shl(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(scales), v128.load(bs)), 5));
      hi = i32x4.sub(hi, i32x4.shl(i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(scales), v128.load(bs, 16)), 5));
      const ds = f64x2.splat(<f64>(load<f32>(f32At(xd, sb)) * halfScale(load<u16>(p, 208))));
      const fl = f32x4.convert_i32x4_s(lo); // ggml converts the lanes to f32 first (exact below 2^24)
      const fh = f32x4.convert_i32x4_s(hi);
      acc0 = fma2(fl, ds, acc0);
      acc1 = fma2(v128.shuffle<f32>(fl, fl, 2, 3, 2, 3), ds, acc1);
      acc2 = fma2(fh, ds, acc2);
      acc3 = fma2(v128.shuffle<f32>(fh, fh, 2, 3, 2, 3), ds, acc3);
    }
    // hsum_float_8: ((l4 + l0) + (l6 + l2)) + ((l5 + l1) + (l7 + l3)).
    const accLo = v128.shuffle<f32>(f32x4.demote_f64x2_zero(acc0), f32x4.demote_f64x2_zero(acc1), 0, 1, 4, 5);
    const accHi = v128.shuffle<f32>(f32x4.demote_f64x2_zero(acc2), f32x4.demote_f64x2_zero(acc3), 0, 1, 4, 5);
    store<f32>(f32At(out, r), hsum(f32x4.add(accHi, accLo)));
  }
}
