/**
 * Float matvec, and the register-tile matmul every weight type uses for
 * prefill (n > 1).
 *
 * Changes against the scalar oracle (src/kernels/scalar.ts):
 * - f32 accumulation in SIMD lanes (4 partial sums per row for matvec,
 *   each adding two products per step: common.ts pairF32) instead of one float64 sum; error stays ~1e-6 relative to sum|w·x|.
 * - matvec (n = 1) takes 4 rows per pass so every x load feeds 4 rows; F16 is
 *   widened exactly in-register (common.ts halfToF32x4), BF16 by a shift.
 * - matmul (n > 1) is a 4-row x 2-token register tile of dot products
 *   (8 accumulators + 2 x + 1 w = 11 of V8's 16 xmm registers), which runs
 *   near wasm's 128-bit mul+add ceiling. F32 rows are used in place; any
 *   other type is first decoded, 4 rows at a time, into a per-thread f32
 *   panel (dequant.ts), so the decode is paid once per row, not per token.
 *   Measured, this beats an integer (i16 dot) tile by ~1.6x on this CPU and
 *   needs no activation quantization, so prefill is as exact as F32.
 * Loop tails: cols % 4 runs scalar; rows % 4 and n % 2 in the tile (and in
 * the F16/BF16 matvec) reuse the same code on an aliased row or token and
 * drop the duplicate results; the F32 matvec takes leftover rows one by one.
 */
import { f32At, halfToF32x4, bf16ToF32x4, hsum, half, pairF32, T_BF16, T_F16 } from './common';
import { dequantRow } from './dequant';
import { dequantPacked } from './packed';

/**
 * dot(a[0..n), b[0..n)) for f32 arrays: per 8 elements, lane l adds
 * a[l]·b[l] + a[4+l]·b[4+l] to its partial sum (the order of every F32
 * matvec here, packed.ts mvF32x4 included, so all rows round alike).
 */
@inline function dotF32(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const o = <usize>c << 2;
    s0 = f32x4.add(s0, pairF32(v128.load(a + o), v128.load(b + o), v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  // The last n % 8 run one by one after the lanes, as in mvF32's 4-row body.
  let s = hsum(s0);
  for (; c < n; c++) s += load<f32>(f32At(a, c)) * load<f32>(f32At(b, c));
  return s;
}

/** out[r] = W[r]·x for r in [r0, r1); W is (rows, cols) f32. */
export function mvF32(out: usize, w: usize, x: usize, cols: i32, r0: i32, r1: i32): void {
  const rb = <usize>cols << 2;
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const w0 = w + <usize>r * rb;
    const w1 = w0 + rb;
    const w2 = w1 + rb;
    const w3 = w2 + rb;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let c = 0;
    for (; c + 8 <= cols; c += 8) {
      const o = <usize>c << 2;
      const xa = v128.load(x + o);
      const xb = v128.load(x + o, 16);
      a0 = f32x4.add(a0, pairF32(v128.load(w0 + o), xa, v128.load(w0 + o, 16), xb));
      a1 = f32x4.add(a1, pairF32(v128.load(w1 + o), xa, v128.load(w1 + o, 16), xb));
      a2 = f32x4.add(a2, pairF32(v128.load(w2 + o), xa, v128.load(w2 + o, 16), xb));
      a3 = f32x4.add(a3, pairF32(v128.load(w3 + o), xa, v128.load(w3 + o, 16), xb));
    }
    let s0 = hsum(a0);
    let s1 = hsum(a1);
    let s2 = hsum(a2);
    let s3 = hsum(a3);
    for (; c < cols; c++) {
      const xv = load<f32>(f32At(x, c));
      s0 += load<f32>(f32At(w0, c)) * xv;
      s1 += load<f32>(f32At(w1, c)) * xv;
      s2 += load<f32>(f32At(w2, c)) * xv;
      s3 += load<f32>(f32At(w3, c)) * xv;
    }
    store<f32>(f32At(out, r), s0);
    store<f32>(f32At(out, r + 1), s1);
    store<f32>(f32At(out, r + 2), s2);
    store<f32>(f32At(out, r + 3), s3);
  }
  for (; r < r1; r++) store<f32>(f32At(out, r), dotF32(w + <usize>r * rb, x, cols));
}

/** Widen 4 halves (or bf16s) at p into an f32x4. */
@inline function wide4(p: usize, bf: bool): v128 {
  const h = v128.load16x4_u(p);
  return bf ? bf16ToF32x4(h) : halfToF32x4(h);
}

@inline function wide1(p: usize, bf: bool): f32 {
  const h = <u32>load<u16>(p);
  return bf ? reinterpret<f32>(h << 16) : half(h);
}

/** Matvec over 16-bit float rows (F16 or BF16), 4 rows per pass. */
@inline export function mvHalf(out: usize, w: usize, x: usize, cols: i32, r0: i32, r1: i32, bf: bool): void {
  const rb = <usize>cols << 1;
  let r = r0;
  for (; r < r1; r += 4) {
    // Rows past r1 alias the last row; their sums are computed and dropped.
    const w0 = w + <usize>r * rb;
    const w1 = r + 1 < r1 ? w0 + rb : w0;
    const w2 = r + 2 < r1 ? w0 + 2 * rb : w0;
    const w3 = r + 3 < r1 ? w0 + 3 * rb : w0;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const xv = v128.load(f32At(x, c));
      const o = <usize>c << 1;
      a0 = f32x4.add(a0, f32x4.mul(wide4(w0 + o, bf), xv));
      a1 = f32x4.add(a1, f32x4.mul(wide4(w1 + o, bf), xv));
      a2 = f32x4.add(a2, f32x4.mul(wide4(w2 + o, bf), xv));
      a3 = f32x4.add(a3, f32x4.mul(wide4(w3 + o, bf), xv));
    }
    let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (; c < cols; c++) {
      const xv = load<f32>(f32At(x, c));
      const o = <usize>c << 1;
      s0 += wide1(w0 + o, bf) * xv;
      s1 += wide1(w1 + o, bf) * xv;
      s2 += wide1(w2 + o, bf) * xv;
      s3 += wide1(w3 + o, bf) * xv;
    }
    store<f32>(f32At(out, r), s0);
    if (r + 1 < r1) store<f32>(f32At(out, r + 1), s1);
    if (r + 2 < r1) store<f32>(f32At(out, r + 2), s2);
    if (r + 3 < r1) store<f32>(f32At(out, r + 3), s3);
  }
}

/** Widen `count` 16-bit float values at src into f32 at dst. */
@inline export function widenHalf(dst: usize, src: usize, count: i32, bf: bool): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(f32At(dst, i), wide4(src + (<usize>i << 1), bf));
  for (; i < count; i++) store<f32>(f32At(dst, i), wide1(src + (<usize>i << 1), bf));
}

/**
 * The register tile: out[t, rOut + i] for i < nr (<= 4) and all t < n, from
 * f32 rows at p (row stride `stride` bytes) and x (n, cols).
 */
function tileF32(out: usize, rows: i32, rOut: i32, nr: i32, p: usize, stride: usize, x: usize, cols: i32, n: i32): void {
  const w0 = p;
  const w1 = nr > 1 ? p + stride : p;
  const w2 = nr > 2 ? p + 2 * stride : p;
  const w3 = nr > 3 ? p + 3 * stride : p;
  const xs = <usize>cols << 2;
  for (let t = 0; t < n; t += 2) {
    const x0 = x + <usize>t * xs;
    const x1 = t + 1 < n ? x0 + xs : x0;
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
    let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
    let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      const xa = v128.load(x0 + o);
      const xb = v128.load(x1 + o);
      let wv = v128.load(w0 + o);
      a00 = f32x4.add(a00, f32x4.mul(wv, xa));
      a01 = f32x4.add(a01, f32x4.mul(wv, xb));
      wv = v128.load(w1 + o);
      a10 = f32x4.add(a10, f32x4.mul(wv, xa));
      a11 = f32x4.add(a11, f32x4.mul(wv, xb));
      wv = v128.load(w2 + o);
      a20 = f32x4.add(a20, f32x4.mul(wv, xa));
      a21 = f32x4.add(a21, f32x4.mul(wv, xb));
      wv = v128.load(w3 + o);
      a30 = f32x4.add(a30, f32x4.mul(wv, xa));
      a31 = f32x4.add(a31, f32x4.mul(wv, xb));
    }
    let s00 = hsum(a00), s01 = hsum(a01), s10 = hsum(a10), s11 = hsum(a11);
    let s20 = hsum(a20), s21 = hsum(a21), s30 = hsum(a30), s31 = hsum(a31);
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      const xa = load<f32>(x0 + o);
      const xb = load<f32>(x1 + o);
      const v0 = load<f32>(w0 + o), v1 = load<f32>(w1 + o), v2 = load<f32>(w2 + o), v3 = load<f32>(w3 + o);
      s00 += v0 * xa; s01 += v0 * xb;
      s10 += v1 * xa; s11 += v1 * xb;
      s20 += v2 * xa; s21 += v2 * xb;
      s30 += v3 * xa; s31 += v3 * xb;
    }
    const o0 = out + ((<usize>t * rows + rOut) << 2);
    store<f32>(o0, s00);
    if (nr > 1) store<f32>(o0, s10, 4);
    if (nr > 2) store<f32>(o0, s20, 8);
    if (nr > 3) store<f32>(o0, s30, 12);
    if (t + 1 < n) {
      const o1 = o0 + (<usize>rows << 2);
      store<f32>(o1, s01);
      if (nr > 1) store<f32>(o1, s11, 4);
      if (nr > 2) store<f32>(o1, s21, 8);
      if (nr > 3) store<f32>(o1, s31, 12);
    }
  }
}

/** out (n, rows) = x (n, cols) · W[r0..r1)^T for f32 weights. */
export function mmF32(out: usize, w: usize, x: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32): void {
  const rb = <usize>cols << 2;
  for (let r = r0; r < r1; r += 4) tileF32(out, rows, r, min(4, r1 - r), w + <usize>r * rb, rb, x, cols, n);
}

/** Bytes of the per-thread f32 panel mmPanel needs. */
export function panelBytes(cols: i32): i32 {
  return 16 * cols;
}

/**
 * out (n, rows) for rows [r0, r1) of any type but plain F32, through a
 * (4, cols) f32 panel at scratch. Rows below `packed` are in packed.ts's
 * interleaved layout (0: none).
 */
export function mmPanel(type: i32, out: usize, w: usize, x: usize, rows: i32, cols: i32, n: i32, r0: i32, r1: i32, rowBytes: i32, scratch: usize, packed: i32): void {
  const sb = <usize>cols << 2;
  for (let r = r0; r < r1; r += 4) {
    const nr = min(4, r1 - r);
    const src = w + <usize>r * rowBytes;
    if (r < packed) for (let i = 0; i < nr; i++) dequantPacked(type, w, r + i, cols, rowBytes, scratch + <usize>i * sb);
    else if (type == T_F16) widenHalf(scratch, src, nr * cols, false);
    else if (type == T_BF16) widenHalf(scratch, src, nr * cols, true);
    else for (let i = 0; i < nr; i++) dequantRow(type, src + <usize>(i * rowBytes), scratch + <usize>i * sb, cols);
    tileF32(out, rows, r, nr, scratch, sb, x, cols, n);
  }
}
