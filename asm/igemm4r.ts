/**
 * Integer prefill for Q4_0 in the relaxed-SIMD build: igemm.ts's tile
 * (8 rows x 4 tokens, the same exact integer sums and per-block fused
 * multiply-add, here one relaxed_madd: common.ts fma4) with
 * `i16x8.relaxed_dot_i8x16_i7x16_s` in place of
 * `i32x4.dot_i16x8_s`. The unsigned nibbles (0..15) are valid i7 operands,
 * so the op (x86: pmaddubsw) is exact on every engine; the nibbles' offset of
 * 8 comes off per block as 8·sum(x) (act.ts's code sums).
 *
 * Why it pays: one op multiplies 16 pairs and adds them in twos, where
 * dot_i16x8_s takes 8 pairs; a lane's i16 sum over a block (8 chunks of 2
 * products of at most 15·127) stays below 2^15, so the widening to i32
 * happens once per block, not per op.
 *
 * The panel, per 32-block (256 bytes): for chunk c = 0..7 (elements 4c..4c+3
 * for c < 4: low nibbles of bytes 4c..4c+3; elements 16 + 4(c-4).. for
 * c >= 4: the high nibbles), rows 0..3 then rows 4..7, each 16 bytes "row
 * lane": 4 codes of row 0, of row 1, of row 2, of row 3. A splat of a
 * token's 4 activation codes of chunk c against such a vector gives the
 * 4 rows' pair sums side by side. After the blocks: the rows' f32 scales
 * (32 bytes per block) and the tile's f32 sums (128 bytes). The
 * activations come as int8 codes from act.ts (relaxed build), after xs.
 */
import { scales4, T_Q4_0 } from './common';
import { accumulate, codesAt, scaleAt, storeTile, transpose4 } from './igemm';

/** Decodes rows a..d of block blk into the panel (their chunk vectors at p, 32 bytes apart) and their scales at sp. */
@inline function quad4(w: usize, a: i32, b: i32, c: i32, d: i32, blk: i32, cols: i32, rowBytes: i32, packed: i32, p: usize, sp: usize): void {
  const mask = i8x16.splat(0x0f);
  if (a < packed) {
    // Packed rows (a..d = a quad of one group): packed.ts's row-lane layout is this panel's, nibbles still paired.
    const i = a & 7;
    const q = w + <usize>(a - i) * <usize>rowBytes + <usize>blk * 144 + 16 + (<usize>(i >> 2) << 4);
    for (let c = 0; c < 4; c++) {
      const v = v128.load(q + (<usize>c << 5));
      v128.store(p + (<usize>c << 5), v128.and(v, mask));
      v128.store(p + (<usize>(c + 4) << 5), v128.and(i16x8.shr_u(v, 4), mask));
    }
  } else {
    quadPlain(w, a, b, c, d, blk, cols, rowBytes, packed, p);
  }
  v128.store(sp, scales4(scaleAt(T_Q4_0, w, a, blk, cols, rowBytes, packed), scaleAt(T_Q4_0, w, b, blk, cols, rowBytes, packed), scaleAt(T_Q4_0, w, c, blk, cols, rowBytes, packed), scaleAt(T_Q4_0, w, d, blk, cols, rowBytes, packed)));
}

/** quad4 for plain rows (ggml's layout, past the packed groups): a 4x4 transpose of the rows' code words. */
@inline function quadPlain(w: usize, a: i32, b: i32, c: i32, d: i32, blk: i32, cols: i32, rowBytes: i32, packed: i32, p: usize): void {
  const mask = i8x16.splat(0x0f);
  const va = v128.load(codesAt(T_Q4_0, w, a, blk, cols, rowBytes, packed));
  const vb = v128.load(codesAt(T_Q4_0, w, b, blk, cols, rowBytes, packed));
  const vc = v128.load(codesAt(T_Q4_0, w, c, blk, cols, rowBytes, packed));
  const vd = v128.load(codesAt(T_Q4_0, w, d, blk, cols, rowBytes, packed));
  transpose4(p, v128.and(va, mask), v128.and(vb, mask), v128.and(vc, mask), v128.and(vd, mask));
  const ha = v128.and(i16x8.shr_u(va, 4), mask), hb = v128.and(i16x8.shr_u(vb, 4), mask);
  const hc = v128.and(i16x8.shr_u(vc, 4), mask), hd = v128.and(i16x8.shr_u(vd, 4), mask);
  transpose4(p + 128, ha, hb, hc, hd);
}

function buildPanel4(w: usize, r: i32, nr: i32, cols: i32, rowBytes: i32, packed: i32, p: usize): void {
  const nb = cols >> 5;
  const last = r + nr - 1;
  const sp = p + (<usize>nb << 8);
  for (let b = 0; b < nb; b++) {
    const o = p + (<usize>b << 8);
    quad4(w, r, min(r + 1, last), min(r + 2, last), min(r + 3, last), b, cols, rowBytes, packed, o, sp + (<usize>b << 5));
    quad4(w, min(r + 4, last), min(r + 5, last), min(r + 6, last), min(r + 7, last), b, cols, rowBytes, packed, o + 16, sp + (<usize>b << 5) + 16);
  }
}

/** The block's exact integer dots of one quad and token: i16 pair sums widened, minus 8·sum(x). */
@inline function blockDots(acc16: v128, sumX: i32): v128 {
  return i32x4.sub(i32x4.extadd_pairwise_i16x8_s(acc16), i32x4.splat(sumX << 3));
}

/**
 * igemm.ts igemm for Q4_0 (see there for the arguments), with xs the per-32
 * code sums of every token. The tile loop mirrors igemm.ts's on purpose: the
 * accumulators (i16 here, i32 there) and the inner product differ, and
 * AssemblyScript cannot pass an inlined inner loop as a parameter.
 */
export function igemmQ4r(out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32, rowBytes: i32, packed: i32, panel: usize): void {
  const nb = cols >> 5;
  const xb = <usize>cols; // bytes per token of int8 codes
  const ds = <usize>nb << 2; // bytes per token of scales (and of code sums)
  const sp = panel + (<usize>nb << 8);
  const acc = sp + (<usize>nb << 5);
  // act.ts quantQ8_0 (relaxed build) put the codes as int8 after the sums.
  const x8 = xs + (<usize>(n * nb) << 2);
  for (let r = r0; r < r1; r += 8) {
    const nr = min(8, r1 - r);
    buildPanel4(w, r, nr, cols, rowBytes, packed, panel);
    for (let t = 0; t < n; t += 4) {
      const t1 = t + 1 < n ? t + 1 : t, t2 = t + 2 < n ? t + 2 : t, t3 = t + 3 < n ? t + 3 : t;
      const x0 = x8 + <usize>t * xb, x1 = x8 + <usize>t1 * xb, x2 = x8 + <usize>t2 * xb, x3 = x8 + <usize>t3 * xb;
      const d0 = <usize>t * ds, d1 = <usize>t1 * ds, d2 = <usize>t2 * ds, d3 = <usize>t3 * ds;
      memory.fill(acc, 0, 128);
      for (let b = 0; b < nb; b++) {
        const xo = <usize>b << 5;
        let y0 = x0 + xo, y1 = x1 + xo, y2 = x2 + xo, y3 = x3 + xo;
        let pw = panel + (<usize>b << 8);
        const pe = pw + 256;
        // a*: rows 0-3, c*: rows 4-7; one i16 accumulator per token. Chunk c's 4 codes are bytes 4c..4c+3 of the block.
        let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
        let c0 = i16x8.splat(0), c1 = i16x8.splat(0), c2 = i16x8.splat(0), c3 = i16x8.splat(0);
        do {
          const wa = v128.load(pw);
          const wc = v128.load(pw, 16);
          let xv = v128.load32_splat(y0);
          a0 = i16x8.add(a0, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa));
          c0 = i16x8.add(c0, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wc));
          xv = v128.load32_splat(y1);
          a1 = i16x8.add(a1, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa));
          c1 = i16x8.add(c1, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wc));
          xv = v128.load32_splat(y2);
          a2 = i16x8.add(a2, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa));
          c2 = i16x8.add(c2, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wc));
          xv = v128.load32_splat(y3);
          a3 = i16x8.add(a3, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wa));
          c3 = i16x8.add(c3, i16x8.relaxed_dot_i8x16_i7x16_s(xv, wc));
          pw += 32;
          y0 += 4;
          y1 += 4;
          y2 += 4;
          y3 += 4;
        } while (pw < pe);
        const bo = <usize>b << 2;
        const dwa = v128.load(sp + (<usize>b << 5));
        const dwc = v128.load(sp + (<usize>b << 5), 16);
        // fp16 · fp16 (11 significant bits each) is exact in f32.
        const e0 = v128.load32_splat(xd + d0 + bo), e1 = v128.load32_splat(xd + d1 + bo), e2 = v128.load32_splat(xd + d2 + bo), e3 = v128.load32_splat(xd + d3 + bo);
        const s0 = load<i32>(xs + d0 + bo), s1 = load<i32>(xs + d1 + bo), s2 = load<i32>(xs + d2 + bo), s3 = load<i32>(xs + d3 + bo);
        accumulate(true, acc, 0, blockDots(a0, s0), f32x4.mul(dwa, e0));
        accumulate(true, acc, 1, blockDots(a1, s1), f32x4.mul(dwa, e1));
        accumulate(true, acc, 2, blockDots(a2, s2), f32x4.mul(dwa, e2));
        accumulate(true, acc, 3, blockDots(a3, s3), f32x4.mul(dwa, e3));
        accumulate(true, acc, 4, blockDots(c0, s0), f32x4.mul(dwc, e0));
        accumulate(true, acc, 5, blockDots(c1, s1), f32x4.mul(dwc, e1));
        accumulate(true, acc, 6, blockDots(c2, s2), f32x4.mul(dwc, e2));
        accumulate(true, acc, 7, blockDots(c3, s3), f32x4.mul(dwc, e3));
      }
      storeTile(out, rows, r, nr, t, n, acc);
    }
  }
}
