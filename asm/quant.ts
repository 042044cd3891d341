/**
 * Integer-weight matvec (n = 1, decode), Q8_0 and Q4_0, against activations
 * quantized once per call exactly as ggml quantizes them (act.ts), so that
 * decode computes what llama.cpp computes on the same file. The K-quants
 * are in kquant.ts. (Prefill, n > 1, goes through float.ts mmPanel: on the
 * f32 activations by default, or with q8Activations 'always' on the
 * quantized ones, decoded back to f32 by act.ts dequantAct.)
 *
 * Why match ggml and not round more finely: llama.cpp quantizes activations
 * to 8 bits (block_q8_0 / block_q8_K) in every quantized matmul; we used to
 * keep 16 bits, which put us a whole 8-bit rounding (up to 6e-2 in
 * next-token probability on small models) away from it. With the same codes
 * the difference is f32 rounding only, and it must be that small everywhere:
 * a one-ulp difference can move a later activation across a rounding
 * boundary, a jump of a whole code. So the f32 sums follow ggml's x86-64
 * (AVX2/AVX-512) kernels too, bit for bit, where that is affordable:
 * - Q4_0: llama.cpp repacks Q4_0 matrices (rows a multiple of 8) and its
 *   gemv (arch/x86/repack.cpp gemv_q4_b32_8x8_q8_0_lut_avx) does, per row,
 *   acc = fma(f32(block dot), d_w·d_x, acc) block after block. We do that
 *   (common.ts fma4: one relaxed_madd in the relaxed-SIMD build, emulated in
 *   f64 in the plain one). Without the fused op the one-ulp differences were
 *   enough to flip activation codes: 1.3e-2 in probability against llama.cpp
 *   on test/quant-llamacpp.test.ts's model, 5e-7 with it.
 * - Q8_0: ggml_vec_dot_q8_0_q8_0 sums 8 lanes with a fused multiply-add per
 *   32 values; emulating that costs about as much as the dot itself, so we
 *   sum f32(d_w·d_x)·(block dot) per row in f32, within a few f32 roundings.
 * The oracle (src/kernels/scalar-int.ts) does the same math, bit for bit;
 * tests compare them exactly.
 *
 * The integer sums are exact in i32 (Q4_0/Q8_0: 32 products of at most
 * 127·127). Before matching ggml we used the i16 lanes' full range for the
 * activations (amax/32767 steps): the same instructions.
 *
 * Changes against the scalar oracle: 4 (Q8_0) or 8 (Q4_0) rows per pass,
 * sharing activation loads. Decode normally runs the row-interleaved copies
 * of these loops in packed.ts; these read ggml's layout (unpacked matrices,
 * and the rows % G rows after the last packed group).
 */
import { f32At, fma4, scales4, totals4 } from './common';

/** Integer dot of 32 int8 weights at p (sign-extended on load) with 32 i16 activations at q. */
@inline export function dotQ8(p: usize, q: usize): v128 {
  let s = i32x4.dot_i16x8_s(v128.load8x8_s(p), v128.load(q));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 8), v128.load(q, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 16), v128.load(q, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(v128.load8x8_s(p, 24), v128.load(q, 48)));
}

/**
 * Integer dot of one Q4_0 block's 16 bytes of nibbles (unsigned: the
 * caller takes 8·sum(x) off) with 32 i16 activations. Bytes are widened to
 * i16 on load, so the nibble split is a native 16-bit and/shift (wasm has
 * no cheap 8-bit shift on x86).
 */
@inline function dotQ4(p: usize, q: usize): v128 {
  const a = v128.load8x8_u(p);
  const b = v128.load8x8_u(p, 8);
  const m = i16x8.splat(0x0f);
  let s = i32x4.dot_i16x8_s(v128.and(a, m), v128.load(q));
  s = i32x4.add(s, i32x4.dot_i16x8_s(v128.and(b, m), v128.load(q, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.shr_u(a, 4), v128.load(q, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.shr_u(b, 4), v128.load(q, 48)));
}

/**
 * Q8_0 (34-byte blocks: f16 d, int8[32]), 4 rows per pass: per row, the sum
 * over blocks of f32(d_w·d_x) · (exact integer block dot), in f32 in block
 * order. packed.ts (the row-interleaved layout decode normally uses) and the
 * oracle round exactly the same way. (ggml's vec_dot_q8_0_q8_0 keeps 8 lanes
 * with a fused multiply-add per block; emulating that would cost more than
 * the dot itself.)
 */
export function mvQ8_0(out: usize, w: usize, xq: usize, xd: usize, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const rb = <usize>nb * 34;
  for (let r = r0; r < r1; r += 4) {
    const p0 = w + <usize>r * rb;
    const p1 = r + 1 < r1 ? p0 + rb : p0;
    const p2 = r + 2 < r1 ? p0 + 2 * rb : p0;
    const p3 = r + 3 < r1 ? p0 + 3 * rb : p0;
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const o = <usize>b * 34;
      const q = xq + (<usize>b << 6);
      const s = totals4(dotQ8(p0 + o + 2, q), dotQ8(p1 + o + 2, q), dotQ8(p2 + o + 2, q), dotQ8(p3 + o + 2, q));
      const d = f32x4.mul(scales4(p0 + o, p1 + o, p2 + o, p3 + o), f32x4.splat(load<f32>(f32At(xd, b))));
      acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), d));
    }
    store<f32>(f32At(out, r), f32x4.extract_lane(acc, 0));
    if (r + 1 < r1) store<f32>(f32At(out, r + 1), f32x4.extract_lane(acc, 1));
    if (r + 2 < r1) store<f32>(f32At(out, r + 2), f32x4.extract_lane(acc, 2));
    if (r + 3 < r1) store<f32>(f32At(out, r + 3), f32x4.extract_lane(acc, 3));
  }
}

/**
 * Q4_0 (18-byte blocks: f16 d, 16 bytes of nibbles: low = element j, high =
 * element j + 16), 8 rows per pass, as ggml's repacked gemv sums it: per
 * row acc = fma(block dot, d_w·d_x, acc) (common.ts fma4), block after block. Block dots are
 * reduced 4 rows at a time into one vector of exact integers (the nibbles'
 * offset of 8 comes off as 8·sum(x)).
 */
export function mvQ4_0(out: usize, w: usize, xq: usize, xd: usize, xs: usize, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const rb = <usize>nb * 18;
  for (let r = r0; r < r1; r += 8) {
    // Rows past r1 alias row r (valid memory); their results are dropped.
    const p0 = w + <usize>r * rb;
    const p1 = r + 1 < r1 ? p0 + rb : p0;
    const p2 = r + 2 < r1 ? p0 + 2 * rb : p0;
    const p3 = r + 3 < r1 ? p0 + 3 * rb : p0;
    const p4 = r + 4 < r1 ? p0 + 4 * rb : p0;
    const p5 = r + 5 < r1 ? p0 + 5 * rb : p0;
    const p6 = r + 6 < r1 ? p0 + 6 * rb : p0;
    const p7 = r + 7 < r1 ? p0 + 7 * rb : p0;
    let acc03 = f32x4.splat(0), acc47 = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      const o = <usize>b * 18;
      const q = xq + (<usize>b << 6);
      const off = i32x4.splat(load<i32>(xs + (<usize>b << 2)) << 3);
      const lo = i32x4.sub(totals4(dotQ4(p0 + o + 2, q), dotQ4(p1 + o + 2, q), dotQ4(p2 + o + 2, q), dotQ4(p3 + o + 2, q)), off);
      const hi = i32x4.sub(totals4(dotQ4(p4 + o + 2, q), dotQ4(p5 + o + 2, q), dotQ4(p6 + o + 2, q), dotQ4(p7 + o + 2, q)), off);
      const dx = f32x4.splat(load<f32>(f32At(xd, b)));
      // fp16 · fp16 (11 significant bits each) is exact in f32; the block dot (|I| < 2^15) converts exactly.
      acc03 = fma4(f32x4.convert_i32x4_s(lo), f32x4.mul(scales4(p0 + o, p1 + o, p2 + o, p3 + o), dx), acc03);
      acc47 = fma4(f32x4.convert_i32x4_s(hi), f32x4.mul(scales4(p4 + o, p5 + o, p6 + o, p7 + o), dx), acc47);
    }
    store<f32>(f32At(out, r), f32x4.extract_lane(acc03, 0));
    if (r + 1 < r1) store<f32>(f32At(out, r + 1), f32x4.extract_lane(acc03, 1));
    if (r + 2 < r1) store<f32>(f32At(out, r + 2), f32x4.extract_lane(acc03, 2));
    if (r + 3 < r1) store<f32>(f32At(out, r + 3), f32x4.extract_lane(acc03, 3));
    if (r + 4 < r1) store<f32>(f32At(out, r + 4), f32x4.extract_lane(acc47, 0));
    if (r + 5 < r1) store<f32>(f32At(out, r + 5), f32x4.extract_lane(acc47, 1));
    if (r + 6 < r1) store<f32>(f32At(out, r + 6), f32x4.extract_lane(acc47, 2));
    if (r + 7 < r1) store<f32>(f32At(out, r + 7), f32x4.extract_lane(acc47, 3));
  }
}
