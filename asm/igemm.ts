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
 * The panel: 8 weight rows decoded once to i16, laid out "row-lane": per
 * 32-block and pair k, two vectors holding elements (2k, 2k+1) of rows
 * 0..3 and of rows 4..7. dot_i16x8_s of such a vector with the splat pair
 * (x[2k], x[2k+1]) of a token yields 4 rows' partial sums in 4 lanes, so a
 * block's integer dots come out as i32x4s with no horizontal reduction.
 * The register tile is 8 rows x 4 tokens: per pair, 2 weight loads and 4
 * splats feed 8 dots (a 4 x 4 tile needed 5 loads per 4 dots and was
 * load-bound). After the panel: the rows' block scales d_w (f32, 32 bytes
 * per block), then the tile's f32 sums, kept in memory because
 * they change only once per block. Rows missing at the matrix end alias
 * the last row; their outputs are dropped.
 */
import { f32At, fma4, scales4, T_Q4_0, T_Q8_0 } from './common';
import { igemmQ4r } from './igemm4r';
import { groupRows } from './packed';

/** Addresses of row `row`'s block b: codes (Q8_0: 32 int8; Q4_0: 16 bytes of nibbles) and its f16 scale. (Not for packed Q4_0 rows in the relaxed build: row-lane, read by igemm4r.ts itself.) */
@inline export function codesAt(type: i32, w: usize, row: i32, b: i32, cols: i32, rowBytes: i32, packed: i32): usize {
  if (row < packed) {
    const g = groupRows(type, cols);
    const i = row % g;
    const base = w + <usize>(row - i) * <usize>rowBytes;
    return type == T_Q8_0 ? base + <usize>b * 136 + 8 + (<usize>i << 5) : base + <usize>b * 144 + 16 + (<usize>i << 4);
  }
  const base = w + <usize>row * <usize>rowBytes;
  return type == T_Q8_0 ? base + <usize>b * 34 + 2 : base + <usize>b * 18 + 2;
}

@inline export function scaleAt(type: i32, w: usize, row: i32, b: i32, cols: i32, rowBytes: i32, packed: i32): usize {
  if (row < packed) {
    const g = groupRows(type, cols);
    const i = row % g;
    const base = w + <usize>(row - i) * <usize>rowBytes;
    return (type == T_Q8_0 ? base + <usize>b * 136 : base + <usize>b * 144) + (<usize>i << 1);
  }
  const base = w + <usize>row * <usize>rowBytes;
  return type == T_Q8_0 ? base + <usize>b * 34 : base + <usize>b * 18;
}

/** Bytes of the panel for `cols`: per 32-element block, 512 of i16 codes (8 rows) and 32 of scales; 128 of sums. */
export function igemmPanelBytes(cols: i32): i32 {
  return (cols >> 5) * 544 + 128;
}

/** Stores the 4x4 transpose of the i32 lanes of a..d (row i = vector i) at p, 32 bytes apart (a quad's slots in the panel). */
@inline export function transpose4(p: usize, a: v128, b: v128, c: v128, d: v128): void {
  const t0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(c, d, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(c, d, 2, 6, 3, 7);
  v128.store(p, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(p, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), 32);
  v128.store(p, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), 64);
  v128.store(p, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), 96);
}

/** Codes j*8 .. j*8+7 of a block at c as i16 lanes (Q4_0: nibble minus 8). */
@inline function wide8(type: i32, c: usize, j: i32): v128 {
  if (type == T_Q8_0) return v128.load8x8_s(c + (<usize>j << 3));
  // Q4_0: byte i holds element i (low nibble) and i + 16 (high nibble).
  const v = v128.load8x8_u(c + (<usize>(j & 1) << 3));
  const q = j < 2 ? v128.and(v, i16x8.splat(0x0f)) : i16x8.shr_u(v, 4);
  return i16x8.sub(q, i16x8.splat(8));
}

/** Decodes 4 rows (quad q of the panel: rows a..d) of block b into the row-lane panel at p. */
@inline function quad(type: i32, w: usize, a: i32, b: i32, c: i32, d: i32, blk: i32, cols: i32, rowBytes: i32, packed: i32, p: usize, sp: usize): void {
  const c0 = codesAt(type, w, a, blk, cols, rowBytes, packed);
  const c1 = codesAt(type, w, b, blk, cols, rowBytes, packed);
  const c2 = codesAt(type, w, c, blk, cols, rowBytes, packed);
  const c3 = codesAt(type, w, d, blk, cols, rowBytes, packed);
  // Vector j of a row holds its pairs 4j..4j+3; transposing four rows' vector j gives pairs 4j..4j+3, 32 bytes apart.
  for (let j = 0; j < 4; j++) transpose4(p + (<usize>j << 7), wide8(type, c0, j), wide8(type, c1, j), wide8(type, c2, j), wide8(type, c3, j));
  v128.store(sp, scales4(scaleAt(type, w, a, blk, cols, rowBytes, packed), scaleAt(type, w, b, blk, cols, rowBytes, packed), scaleAt(type, w, c, blk, cols, rowBytes, packed), scaleAt(type, w, d, blk, cols, rowBytes, packed)));
}

/** Decodes rows [r, r + nr) (nr <= 8) into the row-lane panel at p (rows past nr alias the last). */
function buildPanel(type: i32, w: usize, r: i32, nr: i32, cols: i32, rowBytes: i32, packed: i32, p: usize): void {
  const nb = cols >> 5;
  const last = r + nr - 1;
  const sp = p + (<usize>nb << 9);
  for (let b = 0; b < nb; b++) {
    const o = p + (<usize>b << 9);
    quad(type, w, r, min(r + 1, last), min(r + 2, last), min(r + 3, last), b, cols, rowBytes, packed, o, sp + (<usize>b << 5));
    quad(type, w, min(r + 4, last), min(r + 5, last), min(r + 6, last), min(r + 7, last), b, cols, rowBytes, packed, o + 16, sp + (<usize>b << 5) + 16);
  }
}

/** Slot k (quad · 4 + token) of the tile's f32 sums += f32(I) · s (block dots i, scales s), as decode rounds it: fused for Q4_0. */
@inline export function accumulate(q4: bool, acc: usize, k: i32, i: v128, s: v128): void {
  const p = acc + (<usize>k << 4);
  if (q4) v128.store(p, fma4(f32x4.convert_i32x4_s(i), s, v128.load(p)));
  else v128.store(p, f32x4.add(v128.load(p), f32x4.mul(f32x4.convert_i32x4_s(i), s)));
}

/**
 * out (n, rows) for rows [r0, r1) = xq (n, cols; i16 codes, scales xd per
 * 32) · W^T, 8 rows x 4 tokens per register tile. Q8_0 sums per row
 * acc = f32(acc + f32(f32(d_w·d_x)·I_b)); Q4_0 acc = fma(I_b, d_w·d_x, acc)
 * (common.ts fma4), both block after block, as decode does.
 */
export function igemm(type: i32, out: usize, w: usize, xq: usize, xd: usize, xs: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32, rowBytes: i32, packed: i32, panel: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD && type == T_Q4_0) {
    igemmQ4r(out, w, xq, xd, xs, rows, cols, n, r0, r1, rowBytes, packed, panel);
    return;
  }
  const nb = cols >> 5;
  const xb = <usize>cols << 1; // bytes per token of codes
  const ds = <usize>nb << 2; // bytes per token of scales
  const sp = panel + (<usize>nb << 9);
  const acc = sp + (<usize>nb << 5);
  const q4 = type == T_Q4_0;
  for (let r = r0; r < r1; r += 8) {
    const nr = min(8, r1 - r);
    buildPanel(type, w, r, nr, cols, rowBytes, packed, panel);
    for (let t = 0; t < n; t += 4) {
      const t1 = t + 1 < n ? t + 1 : t, t2 = t + 2 < n ? t + 2 : t, t3 = t + 3 < n ? t + 3 : t;
      const x0 = xq + <usize>t * xb, x1 = xq + <usize>t1 * xb, x2 = xq + <usize>t2 * xb, x3 = xq + <usize>t3 * xb;
      const d0 = xd + <usize>t * ds, d1 = xd + <usize>t1 * ds, d2 = xd + <usize>t2 * ds, d3 = xd + <usize>t3 * ds;
      memory.fill(acc, 0, 128);
      for (let b = 0; b < nb; b++) {
        const xo = <usize>b << 6;
        let y0 = x0 + xo, y1 = x1 + xo, y2 = x2 + xo, y3 = x3 + xo;
        let pw = panel + (<usize>b << 9);
        const pe = pw + 512;
        // a*: rows 0-3, c*: rows 4-7; one accumulator per token. Pointer bumps keep address arithmetic out of the dots.
        let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
        let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
        do {
          const wa = v128.load(pw);
          const wc = v128.load(pw, 16);
          let xv = v128.load32_splat(y0);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wa, xv));
          c0 = i32x4.add(c0, i32x4.dot_i16x8_s(wc, xv));
          xv = v128.load32_splat(y1);
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wa, xv));
          c1 = i32x4.add(c1, i32x4.dot_i16x8_s(wc, xv));
          xv = v128.load32_splat(y2);
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wa, xv));
          c2 = i32x4.add(c2, i32x4.dot_i16x8_s(wc, xv));
          xv = v128.load32_splat(y3);
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wa, xv));
          c3 = i32x4.add(c3, i32x4.dot_i16x8_s(wc, xv));
          pw += 32;
          y0 += 4;
          y1 += 4;
          y2 += 4;
          y3 += 4;
        } while (pw < pe);
        // fp16 · fp16 (11 significant bits each) is exact in f32.
        const bo = <usize>b << 2;
        const dwa = v128.load(sp + (<usize>b << 5));
        const dwc = v128.load(sp + (<usize>b << 5), 16);
        const e0 = v128.load32_splat(d0 + bo), e1 = v128.load32_splat(d1 + bo), e2 = v128.load32_splat(d2 + bo), e3 = v128.load32_splat(d3 + bo);
        accumulate(q4, acc, 0, a0, f32x4.mul(dwa, e0));
        accumulate(q4, acc, 1, a1, f32x4.mul(dwa, e1));
        accumulate(q4, acc, 2, a2, f32x4.mul(dwa, e2));
        accumulate(q4, acc, 3, a3, f32x4.mul(dwa, e3));
        accumulate(q4, acc, 4, c0, f32x4.mul(dwc, e0));
        accumulate(q4, acc, 5, c1, f32x4.mul(dwc, e1));
        accumulate(q4, acc, 6, c2, f32x4.mul(dwc, e2));
        accumulate(q4, acc, 7, c3, f32x4.mul(dwc, e3));
      }
      storeTile(out, rows, r, nr, t, n, acc);
    }
  }
}

/** The tile's sums (8 slots of 4 rows: rows r..r+3 for tokens t..t+3, then rows r+4..r+7) into out, rows and tokens that exist only. */
@inline export function storeTile(out: usize, rows: i32, r: i32, nr: i32, t: i32, n: i32, acc: usize): void {
  const na = min(4, nr);
  const nc = nr - 4;
  for (let i = 0; i < 4 && t + i < n; i++) {
    storeRows(out, rows, r, na, t + i, v128.load(acc + (<usize>i << 4)));
    if (nc > 0) storeRows(out, rows, r + 4, nc, t + i, v128.load(acc + (<usize>(4 + i) << 4)));
  }
}

/** out[t, r .. r + nr) from the lanes of v. */
@inline export function storeRows(out: usize, rows: i32, r: i32, nr: i32, t: i32, v: v128): void {
  const o = f32At(out, t * rows + r);
  if (nr == 4) {
    v128.store(o, v);
    return;
  }
  store<f32>(o, f32x4.extract_lane(v, 0));
  if (nr > 1) store<f32>(o, f32x4.extract_lane(v, 1), 4);
  if (nr > 2) store<f32>(o, f32x4.extract_lane(v, 2), 8);
}
