/**
 * Row-interleaved ("packed") weight layouts for decode.
 *
 * Why: a matvec reads the rows of a group (4 or 8 rows, sharing the
 * activation loads) side by side. In ggml's layout those rows are separate
 * address streams, and with the short rows of small models (768 columns =
 * 816 bytes of Q8_0) the CPU's stream prefetchers never get going: measured
 * on this kind of machine, a Q8_0 matvec streamed from DRAM ran at 5.4 GB/s
 * with 768 columns and 11.3 GB/s with 256 (bench/matvec-memory.ts --layout ggml). Interleaving a group's rows block
 * by block turns the group into one sequential stream. (llama.cpp also
 * repacks Q4_0 matrices into row-interleaved blocks, for its SIMD kernels.)
 *
 * Packing is in place and keeps the size: a group of G rows takes exactly
 * the bytes of G plain rows, so rows past the last whole group (rows % G)
 * stay plain at their usual offsets, and row r's group starts at
 * (r - r % G) · rowBytes.
 *
 * Layouts, per group:
 * - Q8_0 x4, per 32-element block b (at b · 136): the 4 rows' f16 scales
 *   (8 bytes), then their 32 int8 codes, row after row.
 * - Q4_0 x8, per block b (at b · 144): the 8 rows' f16 scales (16 bytes),
 *   then their 16 bytes of nibbles, row after row. The relaxed-SIMD build
 *   ("row-lane") stores the nibble bytes 4 at a time instead: for c = 0..3,
 *   bytes 4c..4c+3 of rows 0..3 (16 bytes), then of rows 4..7 (see
 *   laneDotsQ4r). A build reads only the layout it packed itself.
 * - F32 x4 (columns a multiple of 8), per 8 columns c (at c · 16): the 4
 *   rows' 8 floats (128 bytes, two cache lines), row after row.
 * - F16 and BF16 x4 (columns a multiple of 8), per 8 columns c (at c · 8):
 *   the 4 rows' 8 halves (64 bytes). F16 is packed only if no value is
 *   inf/NaN: its kernel converts with the 6-op finite path.
 * Measured from DRAM on one thread (768x768, bench/matvec-memory.ts with and
 * without --layout ggml): Q8_0 5.4 -> 25.3 GB/s, F32 15.2 -> 29.7, Q4_0
 * 5.1 -> 11.0 (Q4_0 is then compute-bound);
 * F16 4096x4096 6.5 -> 8.7 GB/s (npm run bench:kernels).
 *
 * A packed matrix is flagged by PACKED in the type the host passes
 * (src/kernels/wasm/ops.ts); only this backend can read it.
 */
import { bf16ToF32x4, f32At, finiteHalfToF32x4, fma4, halfScale, halfToF32x4, halvesScaled4, hsum, pairF32, T_BF16, T_F16, T_F32, T_Q4_0, T_Q8_0, totals4, TWO_112 } from './common';
import { blockQ4, blockQ8 } from './dequant';
import { dotQ8 } from './quant';

/** Type flag of a packed matrix. */
export const PACKED: i32 = 0x100;

/** Rows per group of a type's packed layout; 0 if it has none (or, for F32, not at these columns). */
@inline export function groupRows(type: i32, cols: i32): i32 {
  if (type == T_Q8_0) return 4;
  if (type == T_Q4_0) return 8;
  if ((type == T_F32 || type == T_F16 || type == T_BF16) && (cols & 7) == 0) return 4;
  return 0;
}

/** Bytes per element of the float layouts (F32 4; F16, BF16 2), 0 for block types. */
@inline function floatBytes(type: i32): usize {
  return type == T_F32 ? 4 : type == T_F16 || type == T_BF16 ? 2 : 0;
}

/** Rows of a (rows, cols) matrix that sit in whole packed groups: rows - rows % G. */
export function packedRows(type: i32, rows: i32, cols: i32): i32 {
  const g = groupRows(type, cols);
  return g == 0 ? 0 : rows - rows % g;
}

/** Bytes of the scratch packMatrix needs: one group of plain rows. */
export function packScratchBytes(type: i32, rowBytes: i32): i32 {
  return 8 * rowBytes;
}

/**
 * Packs the whole groups of the (rows, cols) matrix at w in place, through
 * `scratch` (packScratchBytes). Returns the rows packed; 0 means the matrix
 * stays plain.
 */
export function packMatrix(type: i32, w: usize, rows: i32, cols: i32, rowBytes: i32, scratch: usize): i32 {
  const g = groupRows(type, cols);
  const full = packedRows(type, rows, cols);
  const rb = <usize>rowBytes;
  const es = floatBytes(type);
  if (es == 0 ? !finiteScales(type, w, rows, cols, rb) : type == T_F16 && !finiteHalves(w, rows * cols)) return 0;
  const groupBytes = <usize>g * rb;
  for (let r = 0; r < full; r += g) {
    const base = w + <usize>r * rb;
    memory.copy(scratch, base, groupBytes);
    if (es != 0) {
      // Per 8 columns, the 4 rows' 8 elements (32 bytes each for F32, 16 for F16/BF16), row after row.
      for (let c = 0; c < cols; c += 8) {
        for (let i = 0; i < 4; i++) {
          const src = scratch + <usize>i * rb + <usize>c * es;
          const dst = base + <usize>c * es * 4 + <usize>i * es * 8;
          v128.store(dst, v128.load(src));
          if (es == 4) v128.store(dst, v128.load(src, 16), 16);
        }
      }
      continue;
    }
    const blockBytes: usize = type == T_Q8_0 ? 34 : 18;
    const qBytes = blockBytes - 2;
    for (let b = 0; b < cols >> 5; b++) {
      const dst = base + <usize>b * <usize>g * blockBytes;
      for (let i = 0; i < g; i++) {
        const src = scratch + <usize>i * rb + <usize>b * blockBytes;
        store<u16>(dst + (<usize>i << 1), load<u16>(src));
        if (ASC_FEATURE_RELAXED_SIMD && type == T_Q4_0) {
          // Row-lane: bytes 4c..4c+3 of row i at 16 + 32c + 16(i >> 2) + 4(i & 3) (see mvQ4_0x8).
          for (let c = 0; c < 4; c++) store<u32>(dst + 16 + (<usize>c << 5) + (<usize>(i >> 2) << 4) + (<usize>(i & 3) << 2), load<u32>(src + 2 + (<usize>c << 2)));
          continue;
        }
        // 16 or 32 bytes: vector moves (memory.copy is a runtime call, 10x slower at this size).
        const q = dst + (<usize>g << 1) + <usize>i * qBytes;
        v128.store(q, v128.load(src, 2));
        if (qBytes == 32) v128.store(q, v128.load(src, 18), 16);
      }
    }
  }
  return full;
}

/** No F16 value among the n at w is inf or NaN (mvHalfx4 converts assuming so). */
function finiteHalves(w: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if ((load<u16>(w + (<usize>i << 1)) & 0x7c00) == 0x7c00) return false;
  return true;
}

/** No block scale of the matrix is inf or NaN (the packed kernels convert scales assuming so). */
function finiteScales(type: i32, w: usize, rows: i32, cols: i32, rb: usize): bool {
  const blockBytes: usize = type == T_Q8_0 ? 34 : 18;
  const nb = cols >> 5;
  for (let r = 0; r < rows; r++) {
    const p = w + <usize>r * rb;
    for (let b = 0; b < nb; b++) if ((load<u16>(p + <usize>b * blockBytes) & 0x7c00) == 0x7c00) return false;
  }
  return true;
}

/**
 * Row `row` (< packedRows) of a packed matrix at w, as f32 at dst: the
 * oracle's values, bit for bit (the same block decoders as dequant.ts).
 */
export function dequantPacked(type: i32, w: usize, row: i32, cols: i32, rowBytes: i32, dst: usize): void {
  const g = groupRows(type, cols);
  const i = row % g;
  const base = w + <usize>(row - i) * <usize>rowBytes;
  if (type == T_F32) {
    for (let c = 0; c < cols; c += 8) {
      const src = base + (<usize>c << 4) + (<usize>i << 5);
      v128.store(f32At(dst, c), v128.load(src));
      v128.store(f32At(dst, c), v128.load(src, 16), 16);
    }
  } else if (type == T_F16 || type == T_BF16) {
    for (let c = 0; c < cols; c += 8) {
      const src = base + (<usize>c << 3) + (<usize>i << 4);
      const bf = type == T_BF16;
      v128.store(f32At(dst, c), bf ? bf16ToF32x4(v128.load16x4_u(src)) : halfToF32x4(v128.load16x4_u(src)));
      v128.store(f32At(dst, c), bf ? bf16ToF32x4(v128.load16x4_u(src, 8)) : halfToF32x4(v128.load16x4_u(src, 8)), 16);
    }
  } else if (type == T_Q8_0) {
    for (let b = 0; b < cols >> 5; b++) {
      const p = base + <usize>b * 136;
      blockQ8(dst + (<usize>b << 7), p + 8 + (<usize>i << 5), halfScale(load<u16>(p + (<usize>i << 1))));
    }
  } else {
    for (let b = 0; b < cols >> 5; b++) {
      const p = base + <usize>b * 144;
      const o = dst + (<usize>b << 7);
      let codes = p + 16 + (<usize>i << 4);
      if (ASC_FEATURE_RELAXED_SIMD) {
        // Gather the row's 16 bytes (row-lane layout) into its own output block; blockQ4 loads them before it stores.
        const q = p + 16 + (<usize>(i >> 2) << 4) + (<usize>(i & 3) << 2);
        store<u32>(o, load<u32>(q));
        store<u32>(o, load<u32>(q, 32), 4);
        store<u32>(o, load<u32>(q, 64), 8);
        store<u32>(o, load<u32>(q, 96), 12);
        codes = o;
      }
      blockQ4(o, codes, halfScale(load<u16>(p + (<usize>i << 1))));
    }
  }
}

/** Matvec over packed rows [r0, r1) (group boundaries) of any packed type. */
export function mvPacked(type: i32, out: usize, w: usize, x: usize, xq: usize, xd: usize, xs: usize, cols: i32, r0: i32, r1: i32, scratch: usize): void {
  const g = groupRows(type, cols);
  const g0 = r0 / g;
  const g1 = r1 / g;
  if (type == T_F32) mvF32x4(out, w, x, cols, g0, g1);
  else if (type == T_F16) mvHalfx4(out, w, x, cols, g0, g1, false);
  else if (type == T_BF16) mvHalfx4(out, w, x, cols, g0, g1, true);
  else if (type == T_Q8_0) mvQ8_0x4(out, w, xq, xd, cols, g0, g1);
  else mvQ4_0x8(out, w, xq, xd, xs, cols, g0, g1, scratch);
}

/**
 * The activations mvQ4_0x8 multiplies, per 32-block: X0 = x[0..8),
 * X1 = x[8..16) (the codes as they are) and Y0 = x[16..24) - 16·x[0..8),
 * Y1 = x[24..32) - 16·x[8..16), as i16 (|Y| <= 127 + 16·127 fits).
 * With them a nibble byte q = lo + 16·hi needs no mask: X·q + Y·hi =
 * X·lo + x_hi·hi, one op less per 16 weights than splitting both nibbles.
 */
function prepQ4(xq: usize, dst: usize, nb: i32): void {
  const sixteen = i16x8.splat(16);
  for (let b = 0; b < nb; b++) {
    const q = xq + (<usize>b << 6);
    const o = dst + (<usize>b << 6);
    const x0 = v128.load(q), x1 = v128.load(q, 16);
    v128.store(o, x0);
    v128.store(o, x1, 16);
    v128.store(o, i16x8.sub(v128.load(q, 32), i16x8.mul(x0, sixteen)), 32);
    v128.store(o, i16x8.sub(v128.load(q, 48), i16x8.mul(x1, sixteen)), 48);
  }
}

/** Integer dot of one Q4_0 block's 16 nibble bytes at p (unsigned; the caller takes 8·sum(x) off) with prepQ4's vectors at y. */
@inline function dotQ4y(p: usize, y: usize): v128 {
  const a = v128.load8x8_u(p);
  const b = v128.load8x8_u(p, 8);
  let s = i32x4.dot_i16x8_s(a, v128.load(y));
  s = i32x4.add(s, i32x4.dot_i16x8_s(b, v128.load(y, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.shr_u(a, 4), v128.load(y, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.shr_u(b, 4), v128.load(y, 48)));
}

/**
 * Relaxed-SIMD build: per block (32 bytes at dst), 8·sum(x) splat (i32x4)
 * and d_x·2^112 splat (f32x4, see halfBitsScaled), each one load in the
 * kernel. (The codes themselves act.ts already wrote as int8, after xs.)
 */
function prepQ4r(xd: usize, xs: usize, dst: usize, nb: i32): void {
  for (let b = 0; b < nb; b++) {
    const pre = dst + (<usize>b << 5);
    v128.store(pre, i32x4.splat(load<i32>(xs + (<usize>b << 2)) << 3));
    v128.store(pre, f32x4.mul(v128.load32_splat(xd + (<usize>b << 2)), f32x4.splat(TWO_112)), 16);
  }
}

/**
 * Relaxed-SIMD build, row-lane Q4_0 (mvQ4_0x8): the pair sums of vector v
 * (bytes 4c..4c+3 of 4 rows: elements 4c..4c+3 in the low nibbles, 16+4c..
 * in the high ones) against splats of the matching 4 activation codes, xl
 * and xh: the 4 rows' partial dots side by side, no horizontal reduction.
 * Nibbles (0..15) are valid i7 operands, so `i16x8.relaxed_dot_i8x16_i7x16_s`
 * (x86: one pmaddubsw) is exact on every engine; an i16 lane's sum over a
 * block (4 vectors, 4 products each of at most 15·127) fits.
 */
@inline function chunkQ4r(v: v128, xl: v128, xh: v128, mask: v128): v128 {
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xl, v128.and(v, mask)), i16x8.relaxed_dot_i8x16_i7x16_s(xh, v128.and(i16x8.shr_u(v, 4), mask)));
}

/**
 * Q8_0 x4: per row, the sum over blocks of f32(d_w·d_x) · (exact integer
 * block dot), summed in f32 in block order, as quant.ts mvQ8_0 and the
 * oracle (src/kernels/scalar-int.ts) round it.
 */
function mvQ8_0x4(out: usize, w: usize, xq: usize, xd: usize, cols: i32, g0: i32, g1: i32): void {
  const h = (g1 - g0) >> 1;
  for (let g = g0; g < g0 + h; g++) mvQ8_0Pair(out, w, xq, xd, cols, g, g + h);
  if (((g1 - g0) & 1) != 0) mvQ8_0Pair(out, w, xq, xd, cols, g1 - 1, g1 - 1);
}

/**
 * Groups ga and gb of a Q8_0 x4 matrix in one pass: two DRAM streams (see
 * mvF32x4). V8 hoists every load of a basic block to its top, and a block's
 * 16 code loads per stream then spill; the branches on the sums already
 * computed (never taken: a block dot is never 2^31 - 1 with |codes| ≤ 128)
 * end a basic block, so each stream's loads are consumed before the next's.
 */
@inline function mvQ8_0Pair(out: usize, w: usize, xq: usize, xd: usize, cols: i32, ga: i32, gb: i32): void {
  const bytes = <usize>(cols >> 5) * 136;
  let p = w + <usize>ga * bytes;
  const delta = <usize>(gb - ga) * bytes;
  let q = xq;
  let dp = xd;
  const pe = p + bytes;
  let acc = f32x4.splat(0);
  let acc2 = f32x4.splat(0);
  // Pointer bumps, no block index, a do-while (cols >= 32 always here): less loop arithmetic per block (+3% in L2).
  do {
    const dx = f32x4.mul(v128.load32_splat(dp), f32x4.splat(TWO_112));
    const s = dots4Q8(p, q);
    // fp16 · fp16 (11 significant bits each) is exact in f32.
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(halvesScaled4(p), dx)));
    if (delta != 0 && i32x4.extract_lane(s, 0) != NEVER) {
      const r = p + delta;
      acc2 = f32x4.add(acc2, f32x4.mul(f32x4.convert_i32x4_s(dots4Q8(r, q)), f32x4.mul(halvesScaled4(r), dx)));
    }
    p += 136;
    q += 64;
    dp += 4;
  } while (p < pe);
  v128.store(out + (<usize>ga << 4), acc);
  if (delta != 0) v128.store(out + (<usize>gb << 4), acc2);
}

/** A sum |I| ≤ 32·128·127 < 2^31 - 1 never reaches: the condition of mvQ8_0Pair's scheduling branches. */
const NEVER: i32 = 0x7fffffff;

/** The 4 rows' exact integer dots of the Q8_0 x4 block at p with the i16 activations at q, rows 0-1 loaded and summed before rows 2-3 (see mvQ8_0Pair). */
@inline function dots4Q8(p: usize, q: usize): v128 {
  const a = dotQ8(p + 8, q);
  const b = dotQ8(p + 40, q);
  let c = i32x4.splat(0);
  let d = i32x4.splat(0);
  if (i32x4.extract_lane(a, 0) != NEVER) {
    c = dotQ8(p + 72, q);
    d = dotQ8(p + 104, q);
  }
  return totals4(a, b, c, d);
}

/**
 * Q4_0 x8, rounded as quant.ts mvQ4_0 (ggml's repacked gemv: per row
 * acc = fma(block dot, d_w·d_x, acc); common.ts fma4). The relaxed-SIMD build
 * takes the nibble dots with pmaddubsw-like ops on its row-lane layout
 * (chunkQ4r) and the fma in one instruction.
 */
function mvQ4_0x8(out: usize, w: usize, xq: usize, xd: usize, xs: usize, cols: i32, g0: i32, g1: i32, scratch: usize): void {
  const nb = cols >> 5;
  const gb = <usize>nb * 144;
  if (ASC_FEATURE_RELAXED_SIMD) prepQ4r(xd, xs, scratch, nb);
  else prepQ4(xq, scratch, nb);
  const mask = i8x16.splat(0x0f);
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * gb;
    let acc03 = f32x4.splat(0), acc47 = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      let lo: v128, hi: v128;
      let off: v128, dx: v128;
      if (ASC_FEATURE_RELAXED_SIMD) {
        const pre = scratch + (<usize>b << 5);
        off = v128.load(pre);
        dx = v128.load(pre, 16);
        // Constant offsets throughout: as a loop over the 4 vectors, V8 spent 4 address ops and a stack check on each.
        // (Quad by quad over all blocks instead, to spare registers, halved the DRAM rate: two streams.)
        const q = xs + (<usize>nb << 2) + (<usize>b << 5); // act.ts's int8 codes of block b
        let sa = chunkQ4r(v128.load(p, 16), v128.load32_splat(q), v128.load32_splat(q, 16), mask);
        let sc = chunkQ4r(v128.load(p, 32), v128.load32_splat(q), v128.load32_splat(q, 16), mask);
        sa = i16x8.add(sa, chunkQ4r(v128.load(p, 48), v128.load32_splat(q, 4), v128.load32_splat(q, 20), mask));
        sc = i16x8.add(sc, chunkQ4r(v128.load(p, 64), v128.load32_splat(q, 4), v128.load32_splat(q, 20), mask));
        sa = i16x8.add(sa, chunkQ4r(v128.load(p, 80), v128.load32_splat(q, 8), v128.load32_splat(q, 24), mask));
        sc = i16x8.add(sc, chunkQ4r(v128.load(p, 96), v128.load32_splat(q, 8), v128.load32_splat(q, 24), mask));
        sa = i16x8.add(sa, chunkQ4r(v128.load(p, 112), v128.load32_splat(q, 12), v128.load32_splat(q, 28), mask));
        sc = i16x8.add(sc, chunkQ4r(v128.load(p, 128), v128.load32_splat(q, 12), v128.load32_splat(q, 28), mask));
        lo = i32x4.sub(i32x4.extadd_pairwise_i16x8_s(sa), off);
        hi = i32x4.sub(i32x4.extadd_pairwise_i16x8_s(sc), off);
      } else {
        off = i32x4.splat(load<i32>(xs + (<usize>b << 2)) << 3);
        dx = f32x4.splat(load<f32>(f32At(xd, b)) * TWO_112);
        const q = scratch + (<usize>b << 6);
        lo = i32x4.sub(totals4(dotQ4y(p + 16, q), dotQ4y(p + 32, q), dotQ4y(p + 48, q), dotQ4y(p + 64, q)), off);
        hi = i32x4.sub(totals4(dotQ4y(p + 80, q), dotQ4y(p + 96, q), dotQ4y(p + 112, q), dotQ4y(p + 128, q)), off);
      }
      const s03 = f32x4.mul(halvesScaled4(p), dx);
      const s47 = f32x4.mul(halvesScaled4(p + 8), dx);
      // The block dots (|I| < 2^15) convert exactly; s (fp16 · fp16) is exact in f32.
      acc03 = fma4(f32x4.convert_i32x4_s(lo), s03, acc03);
      acc47 = fma4(f32x4.convert_i32x4_s(hi), s47, acc47);
      p += 144;
    }
    const o = out + (<usize>g << 5);
    v128.store(o, acc03);
    v128.store(o, acc47, 16);
  }
}

/** 4 halves at p (F16: finite ones, see packMatrix; BF16: any) as an f32x4. */
@inline function wideFinite4(p: usize, bf: bool): v128 {
  const h = v128.load16x4_u(p);
  return bf ? bf16ToF32x4(h) : finiteHalfToF32x4(h);
}

/** F16/BF16 x4: one f32x4 sum per row over 4 columns at a time, as float.ts mvHalf (same order, so bit-identical to it). */
function mvHalfx4(out: usize, w: usize, x: usize, cols: i32, g0: i32, g1: i32, bf: bool): void {
  const gb = <usize>cols << 3;
  for (let g = g0; g < g1; g++) {
    let p = w + <usize>g * gb;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let c = 0; c < cols; c += 8) {
      const xa = v128.load(f32At(x, c));
      const xb = v128.load(f32At(x, c), 16);
      a0 = f32x4.add(a0, f32x4.mul(wideFinite4(p, bf), xa));
      a0 = f32x4.add(a0, f32x4.mul(wideFinite4(p + 8, bf), xb));
      a1 = f32x4.add(a1, f32x4.mul(wideFinite4(p + 16, bf), xa));
      a1 = f32x4.add(a1, f32x4.mul(wideFinite4(p + 24, bf), xb));
      a2 = f32x4.add(a2, f32x4.mul(wideFinite4(p + 32, bf), xa));
      a2 = f32x4.add(a2, f32x4.mul(wideFinite4(p + 40, bf), xb));
      a3 = f32x4.add(a3, f32x4.mul(wideFinite4(p + 48, bf), xa));
      a3 = f32x4.add(a3, f32x4.mul(wideFinite4(p + 56, bf), xb));
      p += 64;
    }
    const o = out + (<usize>g << 4);
    store<f32>(o, hsum(a0));
    store<f32>(o, hsum(a1), 4);
    store<f32>(o, hsum(a2), 8);
    store<f32>(o, hsum(a3), 12);
  }
}

/**
 * F32 x4, in float.ts mvF32's order (common.ts pairF32; so bit-identical to
 * it). Two groups half the range apart are read in the same pass: two
 * sequential streams keep more lines in flight from DRAM than one. Measured
 * on one thread over the 110M model's matrices (438 MB): one stream 28-30
 * GB/s, two 33-35.
 */
function mvF32x4(out: usize, w: usize, x: usize, cols: i32, g0: i32, g1: i32): void {
  const h = (g1 - g0) >> 1;
  for (let g = g0; g < g0 + h; g++) mvF32Pair(out, w, x, cols, g, g + h);
  // An odd group count leaves the last one: read as both streams (the second pass hits L1), one result kept.
  if (((g1 - g0) & 1) != 0) mvF32Pair(out, w, x, cols, g1 - 1, g1 - 1);
}

/** Groups ga and gb of an F32 x4 matrix, in one pass. */
@inline function mvF32Pair(out: usize, w: usize, x: usize, cols: i32, ga: i32, gb: i32): void {
  const bytes = <usize>cols << 4;
  let p = w + <usize>ga * bytes;
  let q = w + <usize>gb * bytes;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let c = 0; c < cols; c += 8) {
    const xa = v128.load(f32At(x, c));
    const xb = v128.load(f32At(x, c), 16);
    a0 = f32x4.add(a0, pairF32(v128.load(p), xa, v128.load(p, 16), xb));
    a1 = f32x4.add(a1, pairF32(v128.load(p, 32), xa, v128.load(p, 48), xb));
    a2 = f32x4.add(a2, pairF32(v128.load(p, 64), xa, v128.load(p, 80), xb));
    a3 = f32x4.add(a3, pairF32(v128.load(p, 96), xa, v128.load(p, 112), xb));
    b0 = f32x4.add(b0, pairF32(v128.load(q), xa, v128.load(q, 16), xb));
    b1 = f32x4.add(b1, pairF32(v128.load(q, 32), xa, v128.load(q, 48), xb));
    b2 = f32x4.add(b2, pairF32(v128.load(q, 64), xa, v128.load(q, 80), xb));
    b3 = f32x4.add(b3, pairF32(v128.load(q, 96), xa, v128.load(q, 112), xb));
    p += 128;
    q += 128;
  }
  storeSums4(out + (<usize>ga << 4), a0, a1, a2, a3);
  storeSums4(out + (<usize>gb << 4), b0, b1, b2, b3);
}

/** The 4 rows' sums of their lanes, to out[0..4). */
@inline function storeSums4(o: usize, a0: v128, a1: v128, a2: v128, a3: v128): void {
  store<f32>(o, hsum(a0));
  store<f32>(o, hsum(a1), 4);
  store<f32>(o, hsum(a2), 8);
  store<f32>(o, hsum(a3), 12);
}
