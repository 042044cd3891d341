/**
 * Byte-level encoding for the GGUF writer: a growable little-endian buffer,
 * metadata value encoding with validation, and the `gv` entry constructors.
 * Values are validated here rather than trusted, so the writer never emits a
 * file that our own reader (or llama.cpp) would reject.
 */
import { StreamLlmError } from '../../errors.js';
import { MAX_ARRAY_DEPTH, isValueType } from './header.js';
import { GgufValueType, isGgufArray, type GgufArray, type GgufEntry, type GgufValue } from './types.js';

const utf8 = new TextEncoder();

/** Append-only little-endian byte buffer that doubles when full. */
export class ByteWriter {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < at + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length += n;
    return at;
  }

  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  i8(v: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  i16(v: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, v, true);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, true);
  }
  f32(v: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }
  u64(v: bigint | number): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  i64(v: bigint | number): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt(v), true);
  }

  /** GGUF string: u64 byte length then UTF-8, encoded in place (no temp array). */
  str(s: string): void {
    const lenAt = this.reserve(8);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const start = this.reserve(s.length * 3);
    const { written } = utf8.encodeInto(s, this.buf.subarray(start, start + s.length * 3));
    this.length = start + written;
    this.view.setBigUint64(lenAt, BigInt(written), true);
  }

  zeros(n: number): void {
    const at = this.reserve(n);
    this.buf.fill(0, at, at + n);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const INT_RANGES: Partial<Record<GgufValueType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffff_ffff],
  [GgufValueType.INT32]: [-0x8000_0000, 0x7fff_ffff],
};

const BIG_RANGES: Partial<Record<GgufValueType, readonly [bigint, bigint]>> = {
  [GgufValueType.UINT64]: [0n, (1n << 64n) - 1n],
  [GgufValueType.INT64]: [-(1n << 63n), (1n << 63n) - 1n],
};

function bad(key: string, message: string, actual: unknown): StreamLlmError {
  return new StreamLlmError('BAD_ARGUMENT', `metadata '${key}': ${message}`, { context: { field: key, actual } });
}

/** Writes `value` as GGUF `type` after checking it really is one. */
export function encodeValue(w: ByteWriter, type: GgufValueType, value: GgufValue, key: string, depth = 0): void {
  const ints = INT_RANGES[type];
  if (ints !== undefined) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < ints[0] || value > ints[1]) {
      throw bad(key, `${String(value)} is not a ${GgufValueType[type]}`, value);
    }
  }
  const bigs = BIG_RANGES[type];
  if (bigs !== undefined) {
    const ok = typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value));
    if (!ok || BigInt(value as bigint | number) < bigs[0] || BigInt(value as bigint | number) > bigs[1]) {
      throw bad(key, `${String(value)} is not a ${GgufValueType[type]}`, value);
    }
  }
  switch (type) {
    case GgufValueType.UINT8:
      return w.u8(value as number);
    case GgufValueType.INT8:
      return w.i8(value as number);
    case GgufValueType.UINT16:
      return w.u16(value as number);
    case GgufValueType.INT16:
      return w.i16(value as number);
    case GgufValueType.UINT32:
      return w.u32(value as number);
    case GgufValueType.INT32:
      return w.i32(value as number);
    case GgufValueType.UINT64:
      return w.u64(value as bigint | number);
    case GgufValueType.INT64:
      return w.i64(value as bigint | number);
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof value !== 'number') throw bad(key, `${String(value)} is not a number`, value);
      return type === GgufValueType.FLOAT32 ? w.f32(value) : w.f64(value);
    case GgufValueType.BOOL:
      if (typeof value !== 'boolean') throw bad(key, `${String(value)} is not a bool`, value);
      return w.u8(value ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof value !== 'string') throw bad(key, `${String(value)} is not a string`, value);
      return w.str(value);
    case GgufValueType.ARRAY:
      if (!isGgufArray(value)) throw bad(key, 'expected an array value ({ itemType, items })', typeof value);
      return encodeArray(w, value, key, depth);
    default:
      throw bad(key, `unknown value type ${String(type)}`, type);
  }
}

function encodeArray(w: ByteWriter, arr: GgufArray, key: string, depth: number): void {
  // Same limit as the reader, so we never write what we cannot read back.
  if (depth >= MAX_ARRAY_DEPTH) throw bad(key, `arrays nest deeper than ${MAX_ARRAY_DEPTH}`, depth);
  if (!isValueType(arr.itemType)) throw bad(key, `unknown array item type ${String(arr.itemType)}`, arr.itemType);
  w.u32(arr.itemType);
  w.u64(arr.items.length);
  for (const item of arr.items) encodeValue(w, arr.itemType, item, key, depth + 1);
}

/**
 * Constructors for metadata entries with their GGUF type. `f32` rounds to
 * float32 and the 64-bit ones normalise to bigint, so an entry compares equal
 * to what the reader returns for it.
 *
 * @example
 * const metadata: Array<[string, GgufEntry]> = [
 *   ['general.architecture', gv.str('llama')],
 *   ['llama.context_length', gv.u32(4096)],
 *   ['tokenizer.ggml.scores', gv.arr(GgufValueType.FLOAT32, [0, -1.5])],
 *   ['nested', gv.arr(GgufValueType.ARRAY, [gv.arr(GgufValueType.UINT8, [1, 2]).value])],
 * ];
 */
export const gv = {
  u8: (v: number): GgufEntry => ({ type: GgufValueType.UINT8, value: v }),
  i8: (v: number): GgufEntry => ({ type: GgufValueType.INT8, value: v }),
  u16: (v: number): GgufEntry => ({ type: GgufValueType.UINT16, value: v }),
  i16: (v: number): GgufEntry => ({ type: GgufValueType.INT16, value: v }),
  u32: (v: number): GgufEntry => ({ type: GgufValueType.UINT32, value: v }),
  i32: (v: number): GgufEntry => ({ type: GgufValueType.INT32, value: v }),
  u64: (v: bigint | number): GgufEntry => ({ type: GgufValueType.UINT64, value: BigInt(v) }),
  i64: (v: bigint | number): GgufEntry => ({ type: GgufValueType.INT64, value: BigInt(v) }),
  f32: (v: number): GgufEntry => ({ type: GgufValueType.FLOAT32, value: Math.fround(v) }),
  f64: (v: number): GgufEntry => ({ type: GgufValueType.FLOAT64, value: v }),
  bool: (v: boolean): GgufEntry => ({ type: GgufValueType.BOOL, value: v }),
  str: (v: string): GgufEntry => ({ type: GgufValueType.STRING, value: v }),
  arr: (itemType: GgufValueType, items: readonly GgufValue[]): GgufEntry => ({
    type: GgufValueType.ARRAY,
    value: { itemType, items },
  }),
} as const;
