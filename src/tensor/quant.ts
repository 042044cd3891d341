/**
 * Scalar reference (de)quantizers for the block formats the engine supports.
 * Layouts follow ggml (ggml-common.h / ggml-quants.c):
 *
 *   Q8_0: 34 bytes per 32 values = f16 d | int8 q[32];          x = d * q
 *   Q4_0: 18 bytes per 32 values = f16 d | uint8 qs[16];        x = d * (nibble - 8)
 *         qs[j] low nibble is element j, high nibble is element j + 16.
 *   Q4_K, Q6_K: 256-value super-blocks, see kquant.ts.
 *
 * The quantizers reproduce ggml's reference rounding so files we write quantize
 * the same way llama.cpp's own tools would.
 */
import { StreamLlmError } from '../errors.js';
import { GgmlType, typeName } from './dtype.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, halfTableF32 } from './half.js';
import { dequantizeQ4K, dequantizeQ6K, quantizeQ4K, quantizeQ6K } from './kquant.js';

export const QK = 32;

/**
 * Dequantize `n` consecutive elements that start at byte `srcOff` of `src`
 * (which must be at a block boundary) into `dst[dstOff..dstOff+n)`.
 */
export function dequantize(
  type: GgmlType,
  src: Uint8Array,
  srcOff: number,
  dst: Float32Array,
  dstOff: number,
  n: number,
): void {
  switch (type) {
    case GgmlType.F32: {
      const dv = new DataView(src.buffer, src.byteOffset + srcOff, n * 4);
      for (let i = 0; i < n; i++) dst[dstOff + i] = dv.getFloat32(i * 4, true);
      return;
    }
    case GgmlType.F16: {
      const t = halfTableF32();
      for (let i = 0; i < n; i++) {
        const o = srcOff + 2 * i;
        dst[dstOff + i] = t[src[o]! | (src[o + 1]! << 8)]!;
      }
      return;
    }
    case GgmlType.BF16:
      for (let i = 0; i < n; i++) {
        const o = srcOff + 2 * i;
        dst[dstOff + i] = bf16ToF32(src[o]! | (src[o + 1]! << 8));
      }
      return;
    case GgmlType.Q8_0:
      for (let b = 0; b < n / QK; b++) {
        const o = srcOff + b * 34;
        const d = f16ToF32(src[o]! | (src[o + 1]! << 8));
        for (let j = 0; j < QK; j++) {
          const q = (src[o + 2 + j]! << 24) >> 24; // sign-extend int8
          dst[dstOff + b * QK + j] = d * q;
        }
      }
      return;
    case GgmlType.Q4_0:
      for (let b = 0; b < n / QK; b++) {
        const o = srcOff + b * 18;
        const d = f16ToF32(src[o]! | (src[o + 1]! << 8));
        for (let j = 0; j < QK / 2; j++) {
          const byte = src[o + 2 + j]!;
          dst[dstOff + b * QK + j] = d * ((byte & 0x0f) - 8);
          dst[dstOff + b * QK + j + QK / 2] = d * ((byte >> 4) - 8);
        }
      }
      return;
    case GgmlType.Q4_K:
      dequantizeQ4K(src, srcOff, dst, dstOff, n);
      return;
    case GgmlType.Q6_K:
      dequantizeQ6K(src, srcOff, dst, dstOff, n);
      return;
    default:
      throw new StreamLlmError('UNSUPPORTED_TENSOR_TYPE', `cannot dequantize ${typeName(type)}`, {
        context: { actual: typeName(type) },
        hint: 'supported types: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K',
      });
  }
}

/** Quantize/convert `n` f32 values (n a multiple of the block size) into a new byte array. */
export function quantize(type: GgmlType, x: Float32Array): Uint8Array {
  const n = x.length;
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + n * 4));
    case GgmlType.F16:
    case GgmlType.BF16: {
      const out = new Uint8Array(n * 2);
      const conv = type === GgmlType.F16 ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < n; i++) {
        const h = conv(x[i]!);
        out[2 * i] = h & 0xff;
        out[2 * i + 1] = h >> 8;
      }
      return out;
    }
    case GgmlType.Q8_0:
      return quantizeQ8_0(x);
    case GgmlType.Q4_0:
      return quantizeQ4_0(x);
    case GgmlType.Q4_K:
      return quantizeQ4K(x);
    case GgmlType.Q6_K:
      return quantizeQ6K(x);
    default:
      throw new StreamLlmError('UNSUPPORTED_TENSOR_TYPE', `cannot quantize to ${typeName(type)}`, {
        context: { actual: typeName(type) },
      });
  }
}

function requireBlocks(x: Float32Array): number {
  if (x.length % QK !== 0) {
    throw new StreamLlmError('BAD_ARGUMENT', `length ${x.length} is not a multiple of ${QK}`);
  }
  return x.length / QK;
}

function quantizeQ8_0(x: Float32Array): Uint8Array {
  const nb = requireBlocks(x);
  const out = new Uint8Array(nb * 34);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[b * QK + j]!));
    const d = amax / 127;
    const id = d !== 0 ? 1 / d : 0;
    const h = f32ToF16(d);
    out[b * 34] = h & 0xff;
    out[b * 34 + 1] = h >> 8;
    for (let j = 0; j < QK; j++) {
      // ggml uses roundf (half away from zero); Math.round rounds half up.
      const v = x[b * QK + j]! * Math.fround(id);
      out[b * 34 + 2 + j] = (Math.sign(v) * Math.round(Math.abs(v))) & 0xff;
    }
  }
  return out;
}

function quantizeQ4_0(x: Float32Array): Uint8Array {
  const nb = requireBlocks(x);
  const out = new Uint8Array(nb * 18);
  for (let b = 0; b < nb; b++) {
    // ggml keeps the signed value of largest magnitude and maps it to -8.
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[b * QK + j]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const h = f32ToF16(d);
    out[b * 18] = h & 0xff;
    out[b * 18 + 1] = h >> 8;
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(x[b * QK + j]! * id);
      const x1 = Math.fround(x[b * QK + j + QK / 2]! * id);
      const q0 = Math.min(15, Math.trunc(Math.fround(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(Math.fround(x1 + 8.5)));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}
