/**
 * Scalar reference (de)quantizers for the two k-quant formats the engine
 * computes with. Block layouts are ggml's (ggml-common.h), 256 values per
 * super-block:
 *
 *   Q4_K, 144 bytes: f16 d | f16 dmin | scales[12] | qs[128]
 *     8 sub-blocks of 32, each with a 6-bit scale sc_j and 6-bit min m_j:
 *     x = (d·sc_j)·q - dmin·m_j, q a nibble. Sub-block 2c takes the low
 *     nibbles of qs[32c .. 32c+32), sub-block 2c+1 the high ones.
 *     scales[12] packs the 16 six-bit numbers: for j < 4, sc_j is the low
 *     6 bits of byte j and m_j of byte j+4; for j >= 4, byte j+4 holds sc_j's
 *     low nibble (bits 0-3) and m_j's (bits 4-7), and their top 2 bits sit in
 *     bits 6-7 of byte j-4 (sc_j) and of byte j (m_j).
 *
 *   Q6_K, 210 bytes: ql[128] | qh[64] | int8 scales[16] | f16 d
 *     x = (d·scale[e/16])·(q - 32), q 6 bits. For element e = 128h + 32g + l
 *     (h < 2, g < 4, l < 32): the low 4 bits are the low (g < 2) or high
 *     (g >= 2) nibble of ql[64h + 32·(g & 1) + l], the top 2 bits are bits
 *     2g, 2g+1 of qh[32h + l].
 *
 * Dequantization rounds exactly like the wasm kernels (f32 products, in this
 * order), so getRows is bit-identical on both backends. The quantizers are
 * our own simple ones (per-sub-block min/max, then 6-bit scales relative to
 * the block's largest); they are not ggml's iterative searches, but any file
 * they write decodes identically in llama.cpp.
 */
import { requireArg } from '../errors.js';
import { f16ToF32, f32ToF16 } from './half.js';

export const QK_K = 256;
export const Q4_K_BYTES = 144;
export const Q6_K_BYTES = 210;

const fr = Math.fround;

/** The 6-bit scale (which = 0) or min (which = 1) of Q4_K sub-block j from the 12 packed bytes at o. */
export function q4kScaleMin(src: Uint8Array, o: number, j: number, which: 0 | 1): number {
  if (j < 4) return src[o + j + 4 * which]! & 63;
  return ((src[o + j + 4]! >> (4 * which)) & 0xf) | ((src[o + j - 4 + 4 * which]! >> 6) << 4);
}

export function dequantizeQ4K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, n: number): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * Q4_K_BYTES;
    const d = f16ToF32(src[o]! | (src[o + 1]! << 8));
    const dmin = f16ToF32(src[o + 2]! | (src[o + 3]! << 8));
    for (let j = 0; j < 8; j++) {
      const dj = fr(d * q4kScaleMin(src, o + 4, j, 0));
      const mj = fr(dmin * q4kScaleMin(src, o + 4, j, 1));
      const qs = o + 16 + 32 * (j >> 1);
      const shift = 4 * (j & 1);
      for (let l = 0; l < 32; l++) {
        const q = (src[qs + l]! >> shift) & 0xf;
        dst[dstOff + b * QK_K + 32 * j + l] = fr(fr(dj * q) - mj);
      }
    }
  }
}

export function dequantizeQ6K(src: Uint8Array, srcOff: number, dst: Float32Array, dstOff: number, n: number): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOff + b * Q6_K_BYTES;
    const d = f16ToF32(src[o + 208]! | (src[o + 209]! << 8));
    for (let e = 0; e < QK_K; e++) {
      const h = e >> 7;
      const g = (e >> 5) & 3;
      const l = e & 31;
      const lb = src[o + 64 * h + 32 * (g & 1) + l]!;
      const lo = g >= 2 ? lb >> 4 : lb & 0xf;
      const hi = (src[o + 128 + 32 * h + l]! >> (2 * g)) & 3;
      const sc = (src[o + 192 + (e >> 4)]! << 24) >> 24; // int8
      dst[dstOff + b * QK_K + e] = fr(fr(d * sc) * ((lo | (hi << 4)) - 32));
    }
  }
}

function superBlocks(x: Float32Array): number {
  requireArg(x.length % QK_K === 0, `length ${x.length} is not a multiple of ${QK_K}`);
  return x.length / QK_K;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function putF16(out: Uint8Array, o: number, v: number): number {
  const h = f32ToF16(v);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
  return f16ToF32(h);
}

export function quantizeQ4K(x: Float32Array): Uint8Array {
  const nb = superBlocks(x);
  const out = new Uint8Array(nb * Q4_K_BYTES);
  const hi = new Float64Array(8);
  const mins = new Float64Array(8);
  const scale = new Float64Array(8);
  const sc = new Uint8Array(8);
  const mn = new Uint8Array(8);
  for (let b = 0; b < nb; b++) {
    const xo = b * QK_K;
    const o = b * Q4_K_BYTES;
    for (let j = 0; j < 8; j++) {
      let lo = 0;
      let top = 0;
      for (let l = 0; l < 32; l++) {
        const v = x[xo + 32 * j + l]!;
        lo = Math.min(lo, v);
        top = Math.max(top, v);
      }
      mins[j] = -lo; // >= 0: the value subtracted
      hi[j] = top;
    }
    // Mins first (rounded up, so each sub-block's smallest value stays in range),
    // then scales that reach each sub-block's largest value from its actual min.
    const dmin = putF16(out, o + 2, Math.max(...mins) / 63);
    for (let j = 0; j < 8; j++) {
      mn[j] = dmin > 0 ? clamp(Math.ceil(mins[j]! / dmin), 0, 63) : 0;
      scale[j] = (hi[j]! + fr(dmin * mn[j]!)) / 15;
    }
    const d = putF16(out, o, Math.max(...scale) / 63);
    for (let j = 0; j < 8; j++) sc[j] = d > 0 ? clamp(Math.round(scale[j]! / d), 0, 63) : 0;
    for (let j = 0; j < 8; j++) {
      if (j < 4) {
        out[o + 4 + j] = sc[j]!;
        out[o + 8 + j] = mn[j]!;
      } else {
        out[o + 8 + j] = (sc[j]! & 0xf) | ((mn[j]! & 0xf) << 4);
        out[o + 4 + j - 4] |= (sc[j]! >> 4) << 6;
        out[o + 4 + j] |= (mn[j]! >> 4) << 6;
      }
    }
    for (let j = 0; j < 8; j++) {
      const dj = fr(d * sc[j]!);
      const mj = fr(dmin * mn[j]!);
      const qs = o + 16 + 32 * (j >> 1);
      for (let l = 0; l < 32; l++) {
        const q = dj > 0 ? clamp(Math.round((x[xo + 32 * j + l]! + mj) / dj), 0, 15) : 0;
        out[qs + l] |= q << (4 * (j & 1));
      }
    }
  }
  return out;
}

export function quantizeQ6K(x: Float32Array): Uint8Array {
  const nb = superBlocks(x);
  const out = new Uint8Array(nb * Q6_K_BYTES);
  const gs = new Float64Array(16);
  for (let b = 0; b < nb; b++) {
    const xo = b * QK_K;
    const o = b * Q6_K_BYTES;
    // Per 16 values, the scale that maps the largest-magnitude value to -32 (as Q4_0 maps to -8).
    let amax = 0;
    for (let g = 0; g < 16; g++) {
      let best = 0;
      for (let i = 0; i < 16; i++) {
        const v = x[xo + 16 * g + i]!;
        if (Math.abs(v) > Math.abs(best)) best = v;
      }
      gs[g] = best / -32;
      amax = Math.max(amax, Math.abs(gs[g]!));
    }
    const d = putF16(out, o + 208, amax / 127);
    for (let g = 0; g < 16; g++) {
      const sc = d > 0 ? clamp(Math.round(gs[g]! / d), -128, 127) : 0;
      out[o + 192 + g] = sc & 0xff;
      const dq = fr(d * sc);
      for (let i = 0; i < 16; i++) {
        const e = 16 * g + i;
        const q = dq !== 0 ? clamp(Math.round(x[xo + e]! / dq) + 32, 0, 63) : 32;
        const h = e >> 7;
        const gg = (e >> 5) & 3;
        const l = e & 31;
        out[o + 64 * h + 32 * (gg & 1) + l] |= (q & 0xf) << (gg >= 2 ? 4 : 0);
        out[o + 128 + 32 * h + l] |= (q >> 4) << (2 * gg);
      }
    }
  }
  return out;
}
