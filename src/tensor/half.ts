/**
 * IEEE half and bfloat16 conversions. Scalar and exact: these are the
 * reference that later SIMD kernels are checked against.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Lookup table: all 65536 halves as f32. 256 KiB, built once on first use. */
let halfTable: Float32Array | undefined;

function buildHalfTable(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    let bits: number;
    if (exp === 0) {
      if (mant === 0) {
        bits = sign;
      } else {
        // subnormal half: renormalize into an f32 normal
        let e = -1;
        let m = mant;
        do {
          e++;
          m <<= 1;
        } while ((m & 0x400) === 0);
        bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
      }
    } else if (exp === 0x1f) {
      bits = sign | 0x7f800000 | (mant << 13);
    } else {
      bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    u32[0] = bits >>> 0;
    t[h] = f32[0]!;
  }
  return t;
}

export function halfTableF32(): Float32Array {
  return (halfTable ??= buildHalfTable());
}

export function f16ToF32(h: number): number {
  return halfTableF32()[h & 0xffff]!;
}

/**
 * f32ToF16, but finite at the top: magnitudes that would round to infinity
 * (infinities included) give ±65504. NaN stays NaN. A 16-bit KV cache is
 * written this way (see Ops.storeF16).
 */
export function f32ToF16Saturating(x: number): number {
  const h = f32ToF16(x);
  return (h & 0x7fff) === 0x7c00 ? (h & 0x8000) | 0x7bff : h;
}

/** f32 -> f16 bits with round-to-nearest-even, as ggml's conversion does. */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  const rem = mant & 0x1fff;
  let m = mant >>> 13;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1) === 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function bf16ToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** f32 -> bf16 bits, round-to-nearest-even; NaNs stay quiet NaNs (as ggml). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}
