/**
 * Integer prefill (n > 1) for Q8_0 and Q4_0 weights, on activations
 * quantized as ggml quantizes them (act.ts, Q8_0 grid): the same integer
 * block dots and the same f32 rounding per block as decode (packed.ts,
 * quant.ts), so a token's logits do not depend on the batch it came in, and
 * prefill matches llama.cpp as closely as decode does.
 *
 * Why not the f32 panels of float.ts: those multiply-add 4 values per
 * 2 vector ALU ops; `i32x4.dot_i16x8_s` multiply-adds 8 per op, and
 * `v128.load32_splat` (a load-port broadcast on x86) feeds it activations
 * without ALU work. Measured on the 110M model's prefill: see BENCHMARKS.md.
 *
 * The panel: 4 weight rows decoded once to i16, laid out "row-lane": per
 * 32-block, 16 vectors, vector k holding elements (2k, 2k+1) of rows 0..3.
 * dot_i16x8_s of vector k with the splat pair (x[2k], x[2k+1]) of a token
 * then yields the 4 rows' partial sums in 4 lanes, so a block's integer
 * dots come out as one i32x4 per token with no horizontal reduction.
 * After the panel, the block scales d_w of the 4 rows (f32, 16 bytes per
 * block). Rows missing at the matrix end alias the last row; their outputs
 * are dropped.
 */
import { f32At, fma2, halfScale, T_Q4_0, T_Q8_0 } from './common';
import { groupRows } from './packed';

/** Addresses of row `row`'s block b: codes (Q8_0: 32 int8; Q4_0: 16 bytes of nibbles) and its f16 scale. */
@inline function codesAt(type: i32, w: usize, row: i32, b: i32, cols: i32, rowBytes: i32, packed: i32): usize {
  if (row < packed) {
    const g = groupRows(type, cols);
    const i = row % g;
    const base = w + <usize>(row - i) * <usize>rowBytes;
    return type == T_Q8_0 ? base + <usize>b * 136 + 8 + (<usize>i << 5) : base + <usize>b * 144 + 16 + (<usize>i << 4);
  }
  const base = w + <usize>row * <usize>rowBytes;
  return type == T_Q8_0 ? base + <usize>b * 34 + 2 : base + <usize>b * 18 + 2;
}

@inline function scaleAt(type: i32, w: usize, row: i32, b: i32, cols: i32, rowBytes: i32, packed: i32): usize {
  if (row < packed) {
    const g = groupRows(type, cols);
    const i = row % g;
    const base = w + <usize>(row - i) * <usize>rowBytes;
    return (type == T_Q8_0 ? base + <usize>b * 136 : base + <usize>b * 144) + (<usize>i << 1);
  }
  const base = w + <usize>row * <usize>rowBytes;
  return type == T_Q8_0 ? base + <usize>b * 34 : base + <usize>b * 18;
}

/** Bytes of the panel for `cols`: per 32-element block, 256 of i16 codes (4 rows) and 16 of scales. */
export function igemmPanelBytes(cols: i32): i32 {
  return (cols >> 5) * 272;
}

/** Stores the 4x4 transpose of the i32 lanes of a..d (row i = vector i) at p, 16 bytes apart. */
@inline function transpose4(p: usize, a: v128, b: v128, c: v128, d: v128): void {
  const t0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(c, d, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(c, d, 2, 6, 3, 7);
  v128.store(p, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(p, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(p, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(p, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), 48);
}

/** Codes j*8 .. j*8+7 of a block at c as i16 lanes (Q4_0: nibble minus 8). */
@inline function wide8(type: i32, c: usize, j: i32): v128 {
  if (type == T_Q8_0) return v128.load8x8_s(c + (<usize>j << 3));
  // Q4_0: byte i holds element i (low nibble) and i + 16 (high nibble).
  const v = v128.load8x8_u(c + (<usize>(j & 1) << 3));
  const q = j < 2 ? v128.and(v, i16x8.splat(0x0f)) : i16x8.shr_u(v, 4);
  return i16x8.sub(q, i16x8.splat(8));
}

/** Decodes rows [r, r + nr) (nr <= 4) into the row-lane panel at p. */
function buildPanel(type: i32, w: usize, r: i32, nr: i32, cols: i32, rowBytes: i32, packed: i32, p: usize): void {
  const nb = cols >> 5;
  const r1 = r + (nr > 1 ? 1 : 0), r2 = r + (nr > 2 ? 2 : 0), r3 = r + (nr > 3 ? 3 : 0);
  const sp = p + (<usize>nb << 8);
  for (let b = 0; b < nb; b++) {
    const c0 = codesAt(type, w, r, b, cols, rowBytes, packed);
    const c1 = codesAt(type, w, r1, b, cols, rowBytes, packed);
    const c2 = codesAt(type, w, r2, b, cols, rowBytes, packed);
    const c3 = codesAt(type, w, r3, b, cols, rowBytes, packed);
    const o = p + (<usize>b << 8);
    // Vector j of a row holds its pairs 4j..4j+3; transposing four rows' vector j gives panel vectors 4j..4j+3.
    for (let j = 0; j < 4; j++) transpose4(o + (<usize>j << 6), wide8(type, c0, j), wide8(type, c1, j), wide8(type, c2, j), wide8(type, c3, j));
    let dw = f32x4.splat(halfScale(load<u16>(scaleAt(type, w, r, b, cols, rowBytes, packed))));
    dw = f32x4.replace_lane(dw, 1, halfScale(load<u16>(scaleAt(type, w, r1, b, cols, rowBytes, packed))));
    dw = f32x4.replace_lane(dw, 2, halfScale(load<u16>(scaleAt(type, w, r2, b, cols, rowBytes, packed))));
    dw = f32x4.replace_lane(dw, 3, halfScale(load<u16>(scaleAt(type, w, r3, b, cols, rowBytes, packed))));
    v128.store(sp + (<usize>b << 4), dw);
  }
}

/**
 * out (n, rows) for rows [r0, r1) = xq (n, cols; i16 codes, scales xd per
 * 32) · W^T, 4 rows x 4 tokens per register tile. Q8_0 sums per row
 * acc = f32(acc + f32(f32(d_w·d_x)·I_b)); Q4_0 acc = fma(I_b, d_w·d_x, acc)
 * (emulated as in common.ts fma2), both block after block, as decode does.
 */
export function igemm(type: i32, out: usize, w: usize, xq: usize, xd: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32, rowBytes: i32, packed: i32, panel: usize): void {
  const nb = cols >> 5;
  const xs = <usize>cols << 1; // bytes per token of codes
  const ds = <usize>nb << 2; // bytes per token of scales
  const sp = panel + (<usize>nb << 8);
  const q4 = type == T_Q4_0;
  for (let r = r0; r < r1; r += 4) {
    const nr = min(4, r1 - r);
    buildPanel(type, w, r, nr, cols, rowBytes, packed, panel);
    for (let t = 0; t < n; t += 4) {
      const t1 = t + 1 < n ? t + 1 : t, t2 = t + 2 < n ? t + 2 : t, t3 = t + 3 < n ? t + 3 : t;
      const x0 = xq + <usize>t * xs, x1 = xq + <usize>t1 * xs, x2 = xq + <usize>t2 * xs, x3 = xq + <usize>t3 * xs;
      const d0 = xd + <usize>t * ds, d1 = xd + <usize>t1 * ds, d2 = xd + <usize>t2 * ds, d3 = xd + <usize>t3 * ds;
      // Q8_0: f32x4 sums per token (lanes = rows). Q4_0: two f64x2 per token (rows 0-1, 2-3), each lane an f32 value.
      let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
      let h0 = f64x2.splat(0), h1 = f64x2.splat(0), h2 = f64x2.splat(0), h3 = f64x2.splat(0);
      for (let b = 0; b < nb; b++) {
        const pb = panel + (<usize>b << 8);
        const xo = <usize>b << 6;
        // Pointer bumps and two pairs per trip: little address arithmetic per dot (a plain k loop ran at ~50 GFLOP/s,
        // a fully unrolled one slower still, probably spilling).
        let y0 = x0 + xo, y1 = x1 + xo, y2 = x2 + xo, y3 = x3 + xo;
        let pw = pb;
        const pe = pb + 256;
        let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
        do {
          let wv = v128.load(pw);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wv, v128.load32_splat(y0)));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wv, v128.load32_splat(y1)));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wv, v128.load32_splat(y2)));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wv, v128.load32_splat(y3)));
          wv = v128.load(pw, 16);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wv, v128.load32_splat(y0, 4)));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wv, v128.load32_splat(y1, 4)));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wv, v128.load32_splat(y2, 4)));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wv, v128.load32_splat(y3, 4)));
          pw += 32;
          y0 += 8;
          y1 += 8;
          y2 += 8;
          y3 += 8;
        } while (pw < pe);
        const dw = v128.load(sp + (<usize>b << 4));
        const bo = <usize>b << 2;
        // fp16 · fp16 (11 significant bits each) is exact in f32.
        const s0 = f32x4.mul(dw, v128.load32_splat(d0 + bo));
        const s1 = f32x4.mul(dw, v128.load32_splat(d1 + bo));
        const s2 = f32x4.mul(dw, v128.load32_splat(d2 + bo));
        const s3 = f32x4.mul(dw, v128.load32_splat(d3 + bo));
        if (q4) {
          h0 = fma2(f32x4.convert_i32x4_s(a0), f64x2.promote_low_f32x4(s0), h0);
          f0 = fma2(f32x4.convert_i32x4_s(v128.shuffle<i32>(a0, a0, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<i32>(s0, s0, 2, 3, 2, 3)), f0);
          h1 = fma2(f32x4.convert_i32x4_s(a1), f64x2.promote_low_f32x4(s1), h1);
          f1 = fma2(f32x4.convert_i32x4_s(v128.shuffle<i32>(a1, a1, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<i32>(s1, s1, 2, 3, 2, 3)), f1);
          h2 = fma2(f32x4.convert_i32x4_s(a2), f64x2.promote_low_f32x4(s2), h2);
          f2 = fma2(f32x4.convert_i32x4_s(v128.shuffle<i32>(a2, a2, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<i32>(s2, s2, 2, 3, 2, 3)), f2);
          h3 = fma2(f32x4.convert_i32x4_s(a3), f64x2.promote_low_f32x4(s3), h3);
          f3 = fma2(f32x4.convert_i32x4_s(v128.shuffle<i32>(a3, a3, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<i32>(s3, s3, 2, 3, 2, 3)), f3);
        } else {
          f0 = f32x4.add(f0, f32x4.mul(f32x4.convert_i32x4_s(a0), s0));
          f1 = f32x4.add(f1, f32x4.mul(f32x4.convert_i32x4_s(a1), s1));
          f2 = f32x4.add(f2, f32x4.mul(f32x4.convert_i32x4_s(a2), s2));
          f3 = f32x4.add(f3, f32x4.mul(f32x4.convert_i32x4_s(a3), s3));
        }
      }
      if (q4) {
        // Rows 0-1 sit in h (f64 lanes), rows 2-3 in the low f64 lanes of f: back to 4 f32 lanes (exact).
        f0 = v128.shuffle<i32>(f32x4.demote_f64x2_zero(h0), f32x4.demote_f64x2_zero(f0), 0, 1, 4, 5);
        f1 = v128.shuffle<i32>(f32x4.demote_f64x2_zero(h1), f32x4.demote_f64x2_zero(f1), 0, 1, 4, 5);
        f2 = v128.shuffle<i32>(f32x4.demote_f64x2_zero(h2), f32x4.demote_f64x2_zero(f2), 0, 1, 4, 5);
        f3 = v128.shuffle<i32>(f32x4.demote_f64x2_zero(h3), f32x4.demote_f64x2_zero(f3), 0, 1, 4, 5);
      }
      storeRows(out, rows, r, nr, t, f0);
      if (t + 1 < n) storeRows(out, rows, r, nr, t + 1, f1);
      if (t + 2 < n) storeRows(out, rows, r, nr, t + 2, f2);
      if (t + 3 < n) storeRows(out, rows, r, nr, t + 3, f3);
    }
  }
}

/** out[t, r .. r + nr) from the lanes of v. */
@inline function storeRows(out: usize, rows: i32, r: i32, nr: i32, t: i32, v: v128): void {
  const o = f32At(out, t * rows + r);
  if (nr == 4) {
    v128.store(o, v);
    return;
  }
  store<f32>(o, f32x4.extract_lane(v, 0));
  if (nr > 1) store<f32>(o, f32x4.extract_lane(v, 1), 4);
  if (nr > 2) store<f32>(o, f32x4.extract_lane(v, 2), 8);
}
