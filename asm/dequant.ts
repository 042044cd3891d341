/**
 * Dequantize one weight row to f32: getRows, and the f32 panels that prefill
 * (n > 1) multiplies with the register tile of float.ts.
 *
 * Rounding is the oracle's (src/tensor/quant.ts, kquant.ts): one f32
 * product d·q per element (K-quants: (d·sc)·q, minus dmin·m for Q4_K), so
 * rows are bit-identical to the scalar backend's. All but F16/BF16 rows
 * (which float.ts widens itself) are vectorized: a prefill panel is decoded
 * once per n tokens, and a scalar decode cost Q4_K prefill ~20%.
 */
import { f32At, half, halfScale, T_Q4_0, T_Q4_K, T_Q6_K, T_Q8_0 } from './common';
import { q4kScale, Q4K_BYTES, Q6K_BYTES } from './kquant';

/** 8 int16 lanes times d, as two f32x4 stores at dst. */
@inline function store8(dst: usize, q: v128, d: v128): void {
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(q)), d));
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(q)), d), 16);
}

/** The same, as d·q - m (Q4_K: multiply, then subtract, as the oracle rounds). */
@inline function store8sub(dst: usize, q: v128, d: v128, m: v128): void {
  v128.store(dst, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(q)), d), m));
  v128.store(dst, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(q)), d), m), 16);
}

/** One Q8_0 block: 32 int8 codes at p times d, to 32 f32 at o. */
@inline export function blockQ8(o: usize, p: usize, scale: f32): void {
  const d = f32x4.splat(scale);
  store8(o, v128.load8x8_s(p), d);
  store8(o + 32, v128.load8x8_s(p, 8), d);
  store8(o + 64, v128.load8x8_s(p, 16), d);
  store8(o + 96, v128.load8x8_s(p, 24), d);
}

/** One Q4_0 block: 16 bytes of nibbles at p (low = element j, high = j + 16), (q - 8)·d to 32 f32 at o. */
@inline export function blockQ4(o: usize, p: usize, scale: f32): void {
  const d = f32x4.splat(scale);
  const m = i16x8.splat(0x0f);
  const e = i16x8.splat(8);
  const lo = v128.load8x8_u(p);
  const hi = v128.load8x8_u(p, 8);
  store8(o, i16x8.sub(v128.and(lo, m), e), d);
  store8(o + 32, i16x8.sub(v128.and(hi, m), e), d);
  store8(o + 64, i16x8.sub(i16x8.shr_u(lo, 4), e), d);
  store8(o + 96, i16x8.sub(i16x8.shr_u(hi, 4), e), d);
}

export function dequantRow(type: i32, src: usize, dst: usize, cols: i32): void {
  if (type == 0) {
    memory.copy(dst, src, <usize>cols << 2);
  } else if (type == 1 || type == 30) {
    for (let i = 0; i < cols; i++) {
      const h = <u32>load<u16>(src + (<usize>i << 1));
      store<f32>(f32At(dst, i), type == 1 ? half(h) : reinterpret<f32>(h << 16));
    }
  } else if (type == T_Q8_0) {
    for (let b = 0; b < cols >> 5; b++) {
      const p = src + <usize>b * 34;
      blockQ8(dst + (<usize>b << 7), p + 2, halfScale(load<u16>(p)));
    }
  } else if (type == T_Q4_0) {
    for (let b = 0; b < cols >> 5; b++) {
      const p = src + <usize>b * 18;
      blockQ4(dst + (<usize>b << 7), p + 2, halfScale(load<u16>(p)));
    }
  } else if (type == T_Q4_K) {
    const m = i8x16.splat(0x0f);
    for (let sb = 0; sb < cols >> 8; sb++) {
      const p = src + <usize>sb * Q4K_BYTES;
      const d = halfScale(load<u16>(p));
      const dmin = halfScale(load<u16>(p, 2));
      for (let j = 0; j < 8; j++) {
        const dj = f32x4.splat(d * <f32>q4kScale(p + 4, j, 0));
        const mj = f32x4.splat(dmin * <f32>q4kScale(p + 4, j, 1));
        const qs = p + 16 + 32 * (j >> 1);
        const o = dst + (<usize>((sb << 8) + (j << 5)) << 2);
        for (let h = 0; h < 2; h++) {
          const v = v128.load(qs + 16 * h);
          const q = (j & 1) == 0 ? v128.and(v, m) : i8x16.shr_u(v, 4);
          store8sub(o + 64 * h, i16x8.extend_low_i8x16_u(q), dj, mj);
          store8sub(o + 64 * h + 32, i16x8.extend_high_i8x16_u(q), dj, mj);
        }
      }
    }
  } else if (type == T_Q6_K) {
    const m = i8x16.splat(0x0f);
    for (let sb = 0; sb < cols >> 8; sb++) {
      const p = src + <usize>sb * Q6K_BYTES;
      const d = halfScale(load<u16>(p, 208));
      for (let e = 0; e < 256; e += 16) {
        // 16 values share one scale and one (ql, qh) byte range: see kquant.ts for the layout.
        const h = e >> 7, g = (e >> 5) & 3, l = e & 31;
        const lb = v128.load(p + 64 * h + l + 32 * (g & 1));
        const lo = g >= 2 ? i8x16.shr_u(lb, 4) : v128.and(lb, m);
        const hi = i8x16.shl(v128.and(i8x16.shr_u(v128.load(p + 128 + 32 * h + l), 2 * g), i8x16.splat(3)), 4);
        const q = i8x16.sub(v128.or(lo, hi), i8x16.splat(32));
        const ds = f32x4.splat(d * <f32>load<i8>(p + 192 + (e >> 4)));
        const o = dst + (<usize>((sb << 8) + e) << 2);
        store8(o, i16x8.extend_low_i8x16_s(q), ds);
        store8(o + 32, i16x8.extend_high_i8x16_s(q), ds);
      }
    }
  } else {
    unreachable();
  }
}
