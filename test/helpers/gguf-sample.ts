/**
 * Shared builders for the GGUF tests: a seeded PRNG, metadata covering every
 * value type, random tensors, and byte-patching helpers that let a test break
 * one field of an otherwise valid file.
 */
import { GgmlType, quantize } from '../../src/tensor/index.js';
import { GgufValueType, gv, type GgufEntry, type GgufWriterTensor } from '../../src/formats/gguf/index.js';

/** mulberry32: tiny, seedable, good enough to pick offsets and weights. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Roughly normal values (sum of uniforms), scaled: weights look like this. */
export function randomWeights(rng: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng() + rng() + rng() + rng() - 2) * scale;
  return out;
}

const T = GgufValueType;

/** One entry of every value type, plus the awkward cases: nesting, empties, extremes, unicode. */
export function everyTypeMetadata(): Array<[string, GgufEntry]> {
  return [
    ['general.architecture', gv.str('llama')],
    ['test.u8', gv.u8(255)],
    ['test.i8', gv.i8(-128)],
    ['test.u16', gv.u16(65535)],
    ['test.i16', gv.i16(-32768)],
    ['test.u32', gv.u32(0xffff_ffff)],
    ['test.i32', gv.i32(-0x8000_0000)],
    ['test.f32', gv.f32(3.14159)],
    ['test.f64', gv.f64(Math.PI)],
    ['test.bool.true', gv.bool(true)],
    ['test.bool.false', gv.bool(false)],
    ['test.str.empty', gv.str('')],
    ['test.str.unicode', gv.str('héllo wörld — 你好 🦙')],
    // A leading BOM is part of some real tokens; the reader must not drop it.
    ['test.str.bom', gv.str('\u{feff}starts with a BOM')],
    ['test.u64.max', gv.u64((1n << 64n) - 1n)],
    ['test.u64.small', gv.u64(42)],
    ['test.i64.min', gv.i64(-(1n << 63n))],
    ['test.i64.small', gv.i64(-7)],
    ['test.arr.u8', gv.arr(T.UINT8, [0, 1, 255])],
    ['test.arr.i8', gv.arr(T.INT8, [-128, 0, 127])],
    ['test.arr.u16', gv.arr(T.UINT16, [0, 65535])],
    ['test.arr.i16', gv.arr(T.INT16, [-32768, 32767])],
    ['test.arr.u32', gv.arr(T.UINT32, [0, 0xffff_ffff])],
    ['test.arr.i32', gv.arr(T.INT32, [-1, 2, -3])],
    ['test.arr.f32', gv.arr(T.FLOAT32, [0, -1.5, Math.fround(0.1)])],
    ['test.arr.f64', gv.arr(T.FLOAT64, [0.1, -1e300, Number.MIN_VALUE])],
    ['test.arr.bool', gv.arr(T.BOOL, [true, false, true])],
    ['test.arr.str', gv.arr(T.STRING, ['', 'a', '▁the', '日本語', '<0x0A>'])],
    ['test.arr.u64', gv.arr(T.UINT64, [0n, (1n << 64n) - 1n, 9007199254740991n])],
    ['test.arr.i64', gv.arr(T.INT64, [-(1n << 63n), 5n])],
    ['test.arr.empty', gv.arr(T.UINT32, [])],
    [
      'test.arr.nested',
      gv.arr(T.ARRAY, [
        gv.arr(T.UINT32, [1, 2, 3]).value,
        gv.arr(T.STRING, ['x', 'yz']).value,
        gv.arr(T.FLOAT32, []).value,
        gv.arr(T.ARRAY, [gv.arr(T.INT8, [-1]).value]).value,
      ]),
    ],
  ];
}

/** A random tensor in each engine-supported type, with the floats it came from. */
export interface SampleTensor {
  readonly tensor: GgufWriterTensor;
  readonly original: Float32Array;
  readonly data: Uint8Array;
}

export function sampleTensors(rng: () => number): SampleTensor[] {
  const specs: Array<[string, GgmlType, number[]]> = [
    ['blk.0.f32', GgmlType.F32, [64, 3]],
    ['blk.0.f16', GgmlType.F16, [32, 2, 2]],
    ['blk.0.bf16', GgmlType.BF16, [48]],
    ['blk.0.q8_0', GgmlType.Q8_0, [64, 4]],
    ['blk.0.q4_0', GgmlType.Q4_0, [96, 2, 1, 1]],
  ];
  return specs.map(([name, type, dims]) => {
    const original = randomWeights(rng, dims.reduce((a, b) => a * b, 1), 0.5);
    const data = quantize(type, original);
    return { tensor: { name, type, dims, data }, original, data };
  });
}

/** Position just after the first occurrence of `needle` (UTF-8) in `bytes`, or throws. */
export function after(bytes: Uint8Array, needle: string, from = 0): number {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = from; i + n.length <= bytes.length; i++) {
    for (let j = 0; j < n.length; j++) if (bytes[i + j] !== n[j]) continue outer;
    return i + n.length;
  }
  throw new Error(`'${needle}' not found`);
}

/** Offsets of the fields of the tensor info named `name` (its name must be unique in the file). */
export function tensorInfoFields(bytes: Uint8Array, name: string): { nDims: number; dims: number; type: number; offset: number } {
  const nDims = after(bytes, name);
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(nDims, true);
  const dims = nDims + 4;
  const type = dims + 8 * n;
  return { nDims, dims, type, offset: type + 4 };
}

export function putU32(bytes: Uint8Array, at: number, v: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, v, true);
}

export function putU64(bytes: Uint8Array, at: number, v: bigint): void {
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, v, true);
}
