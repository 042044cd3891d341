/**
 * GGUF header parser: magic, version, metadata key/values, tensor infos.
 * Layout (v2 and v3 are identical on disk; v3 only allowed big-endian files):
 *
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv ×      { string key | u32 value_type | value }
 *   n_tensors × { string name | u32 n_dims | u64 dims[n_dims] | u32 type | u64 offset }
 *   padding to `general.alignment` (default 32) | tensor data
 *
 * A string is u64 length + bytes; an array is u32 item_type + u64 count + items.
 * Everything a corrupt file could lie about is checked here, so the rest of
 * the engine can trust a GgufTensorInfo: in-bounds, aligned, sane shape.
 */
import { typeName, typeTraits } from '../../tensor/dtype.js';
import { HeaderCursor, MAX_STRING_BYTES } from './cursor.js';
import { bufferSource, type ByteSource } from './source.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufValueType,
  type GgufArray,
  type GgufEntry,
  type GgufTensorInfo,
  type GgufValue,
} from './types.js';

export interface ParsedHeader {
  readonly version: 2 | 3;
  readonly metadata: ReadonlyMap<string, GgufEntry>;
  /** Absolute offset of each metadata key, so later type errors can point at it. */
  readonly keyOffsets: ReadonlyMap<string, number>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the data section (header end rounded up to alignment). */
  readonly dataOffset: number;
}

/** ggml's GGML_MAX_DIMS. */
export const MAX_DIMS = 4;

/**
 * The spec puts no limit on array nesting; we do, because each level costs
 * only 12 bytes on disk but a stack frame here, and nothing real nests deeper than 2.
 */
export const MAX_ARRAY_DEPTH = 8;

/** Fixed on-disk size of each scalar type; strings/arrays give their minimum. */
export const VALUE_MIN_BYTES: Readonly<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.STRING]: 8, // u64 length, possibly zero bytes of text
  [GgufValueType.ARRAY]: 12, // u32 item type + u64 count
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

// Smallest possible kv: empty key (8) + type (4) + one-byte value.
const MIN_KV_BYTES = 13;
// Smallest possible tensor info: empty name (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
const MIN_TENSOR_INFO_BYTES = 32;

export function isValueType(t: number): t is GgufValueType {
  return Number.isInteger(t) && t >= 0 && t <= GgufValueType.FLOAT64;
}

export function parseHeader(src: ByteSource): ParsedHeader {
  const c = new HeaderCursor(src);

  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    throw c.fail(
      'GGUF_BAD_MAGIC',
      `not a GGUF file (magic 0x${magic.toString(16).padStart(8, '0')})`,
      { offset: 0, field: 'magic', expected: '0x46554747 ("GGUF")', actual: magic },
      'older llama.cpp formats (GGML, GGJT) must be converted with llama.cpp first',
    );
  }
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    const hint =
      version === 1
        ? 'GGUF v1 (2023) is not supported: re-convert the model with a current llama.cpp'
        : version > 0xffff && (version & 0xffff) === 0
          ? 'this looks like a big-endian GGUF file, which is not supported'
          : 'supported versions are 2 and 3';
    throw c.fail('GGUF_UNSUPPORTED_VERSION', `unsupported GGUF version ${version}`, {
      offset: 4,
      field: 'version',
      expected: '2 or 3',
      actual: version,
    }, hint);
  }
  const nTensors = c.count('tensor_count', MIN_TENSOR_INFO_BYTES);
  const nKv = c.count('metadata_kv_count', MIN_KV_BYTES);

  const metadata = new Map<string, GgufEntry>();
  const keyOffsets = new Map<string, number>();
  let alignmentAt = 0;
  for (let i = 0; i < nKv; i++) {
    const keyAt = c.pos;
    const key = c.str(`metadata key #${i}`);
    if (metadata.has(key)) {
      throw c.fail('GGUF_DUPLICATE_KEY', `metadata key '${key}' appears twice`, { offset: keyAt, field: key });
    }
    keyOffsets.set(key, keyAt);
    const type = readValueType(c, key);
    if (key === 'general.alignment') alignmentAt = c.pos;
    metadata.set(key, { type, value: readValue(c, type, key, 0) });
  }

  const alignment = readAlignment(c, metadata, alignmentAt);

  const names = new Set<string>();
  const pending: Array<{ info: Omit<GgufTensorInfo, 'offset'>; offsetAt: number }> = [];
  for (let i = 0; i < nTensors; i++) {
    const nameAt = c.pos;
    const name = c.str(`tensor name #${i}`);
    if (names.has(name)) {
      throw c.fail('GGUF_DUPLICATE_TENSOR', `tensor '${name}' appears twice`, { offset: nameAt, tensor: name });
    }
    names.add(name);
    pending.push(readTensorInfo(c, name, alignment));
  }

  const headerEnd = c.pos;
  const dataOffset = Math.ceil(headerEnd / alignment) * alignment;
  // A vocab-only file may end right after the header, without padding, so
  // dataOffset can exceed the file size; that is only an error if a tensor
  // actually needs bytes there.
  const tensors = pending.map(({ info, offsetAt }) => {
    const offset = dataOffset + info.relOffset;
    if (offset > src.size) {
      throw c.fail('GGUF_BAD_OFFSET', `tensor '${info.name}' starts at ${offset}, beyond the end of the file`, {
        offset: offsetAt,
        tensor: info.name,
        field: 'offset',
        expected: `≤ ${src.size}`,
        actual: offset,
      });
    }
    if (offset + info.nBytes > src.size) {
      throw c.fail('GGUF_TRUNCATED', `data of tensor '${info.name}' runs past the end of the file`, {
        offset: offsetAt,
        tensor: info.name,
        field: 'offset',
        expected: offset + info.nBytes,
        actual: src.size,
      }, 'the file is truncated (incomplete download?)');
    }
    return { ...info, offset };
  });

  return { version, metadata, keyOffsets, tensors, alignment, dataOffset };
}

function readValueType(c: HeaderCursor, key: string): GgufValueType {
  const at = c.pos;
  const t = c.u32(key);
  if (!isValueType(t)) {
    throw c.fail('GGUF_BAD_VALUE', `unknown value type ${t} for '${key}'`, {
      offset: at,
      field: key,
      expected: '0..12',
      actual: t,
    });
  }
  return t;
}

function readValue(c: HeaderCursor, type: GgufValueType, key: string, depth: number): GgufValue {
  switch (type) {
    case GgufValueType.UINT8:
      return c.u8(key);
    case GgufValueType.INT8:
      return c.i8(key);
    case GgufValueType.UINT16:
      return c.u16(key);
    case GgufValueType.INT16:
      return c.i16(key);
    case GgufValueType.UINT32:
      return c.u32(key);
    case GgufValueType.INT32:
      return c.i32(key);
    case GgufValueType.FLOAT32:
      return c.f32(key);
    case GgufValueType.FLOAT64:
      return c.f64(key);
    case GgufValueType.UINT64:
      return c.u64(key);
    case GgufValueType.INT64:
      return c.i64(key);
    case GgufValueType.BOOL: {
      const at = c.pos;
      const b = c.u8(key);
      // The spec calls anything but 0/1 invalid; accepting it would hide corruption.
      if (b > 1) throw c.fail('GGUF_BAD_VALUE', `bool '${key}' holds ${b}`, { offset: at, field: key, expected: '0 or 1', actual: b });
      return b === 1;
    }
    case GgufValueType.STRING:
      return c.str(key);
    case GgufValueType.ARRAY:
      return readArray(c, key, depth);
  }
}

function readArray(c: HeaderCursor, key: string, depth: number): GgufArray {
  if (depth >= MAX_ARRAY_DEPTH) {
    throw c.fail('GGUF_BAD_VALUE', `arrays in '${key}' nest deeper than ${MAX_ARRAY_DEPTH}`, { field: key });
  }
  const itemType = readValueType(c, key);
  const n = c.count(key, VALUE_MIN_BYTES[itemType]);
  if (n >= LAZY_MIN_ITEMS && depth === 0 && (itemType === GgufValueType.STRING || hasFixedSize(itemType))) {
    // Walked (every length checked against the file) but not decoded: see LazyArray.
    const start = c.pos;
    if (itemType === GgufValueType.STRING) {
      for (let i = 0; i < n; i++) c.skip(c.count(key, 1, MAX_STRING_BYTES), key);
    } else {
      c.skip(n * VALUE_MIN_BYTES[itemType], key);
    }
    return new LazyArray(itemType, n, c.copy(start, c.pos), key);
  }
  const items: GgufValue[] = new Array<GgufValue>(n);
  for (let i = 0; i < n; i++) items[i] = readValue(c, itemType, key, depth + 1);
  return { itemType, items };
}

/**
 * Top-level arrays at least this long (a vocabulary's tokens, scores and
 * types) are decoded on first use. Decoding a 32000-token vocabulary up front
 * made ~100k short-lived JS values at open, and the garbage collector's young
 * generation grew to hold them: ~2 MiB more peak RSS for runs that never
 * tokenize (`streamllm bench`).
 */
const LAZY_MIN_ITEMS = 4096;

function hasFixedSize(t: GgufValueType): boolean {
  // BOOL is excluded: its bytes must be checked (0/1) at open, like a scalar bool.
  return t !== GgufValueType.BOOL && t !== GgufValueType.STRING && t !== GgufValueType.ARRAY;
}

/**
 * A GgufArray whose items are decoded (once, then kept) from a copy of their
 * bytes when `items` is first read. Lengths were validated when the header
 * was walked, so decoding cannot fail. `items` is an own enumerable
 * accessor, so JSON.stringify and spreads see it like a plain array's.
 */
class LazyArray implements GgufArray {
  declare readonly items: readonly GgufValue[];

  constructor(
    readonly itemType: GgufValueType,
    n: number,
    bytes: Uint8Array,
    key: string,
  ) {
    let decoded: GgufValue[] | undefined;
    let raw: Uint8Array | undefined = bytes;
    Object.defineProperty(this, 'items', {
      enumerable: true,
      get: (): readonly GgufValue[] => {
        if (decoded === undefined) {
          const c = new HeaderCursor(bufferSource(raw!, key));
          decoded = new Array<GgufValue>(n);
          for (let i = 0; i < n; i++) decoded[i] = readValue(c, itemType, key, 1);
          raw = undefined;
        }
        return decoded;
      },
    });
  }
}

function readAlignment(c: HeaderCursor, metadata: ReadonlyMap<string, GgufEntry>, at: number): number {
  const e = metadata.get('general.alignment');
  if (e === undefined) return GGUF_DEFAULT_ALIGNMENT;
  // The spec says uint32; tolerate any integer type, but not strings or floats.
  const v = typeof e.value === 'bigint' ? Number(e.value) : e.value;
  const isInt = e.type !== GgufValueType.FLOAT32 && e.type !== GgufValueType.FLOAT64 && typeof v === 'number';
  if (!isInt || v < 1 || v > 0x4000_0000 || (v & (v - 1)) !== 0) {
    throw c.fail('GGUF_BAD_ALIGNMENT', `general.alignment must be a power of two, got ${String(e.value)}`, {
      offset: at,
      field: 'general.alignment',
      expected: 'power of two',
      actual: typeof e.value === 'object' ? 'array' : e.value,
    });
  }
  return v;
}

function readTensorInfo(
  c: HeaderCursor,
  name: string,
  alignment: number,
): { info: Omit<GgufTensorInfo, 'offset'>; offsetAt: number } {
  const badShape = (msg: string, at: number, actual: unknown): never => {
    throw c.fail('GGUF_BAD_SHAPE', `tensor '${name}': ${msg}`, { offset: at, tensor: name, field: 'dims', actual });
  };

  const nDimsAt = c.pos;
  const nDims = c.u32(name);
  if (nDims < 1 || nDims > MAX_DIMS) badShape(`has ${nDims} dimensions (must be 1..${MAX_DIMS})`, nDimsAt, nDims);
  const dims: number[] = [];
  let nElements = 1;
  for (let d = 0; d < nDims; d++) {
    const at = c.pos;
    const ne = c.u64Safe(name);
    if (ne < 1) badShape(`dimension ${d} is ${ne < 0 ? '≥ 2^53' : 0}`, at, ne);
    nElements *= ne;
    if (!Number.isSafeInteger(nElements)) badShape('element count overflows 2^53', at, dims.concat(ne));
    dims.push(ne);
  }

  const typeAt = c.pos;
  const type = c.u32(name);
  const traits = typeTraits(type);
  if (traits === undefined) {
    throw c.fail('UNSUPPORTED_TENSOR_TYPE', `tensor '${name}' has unknown ggml type id ${type}`, {
      offset: typeAt,
      tensor: name,
      field: 'type',
      actual: type,
    }, 'the file may need a newer reader, or it is corrupt');
  }
  if (dims[0]! % traits.blockSize !== 0) {
    badShape(`ne0 = ${dims[0]} is not a multiple of the ${typeName(type)} block size ${traits.blockSize}`, nDimsAt, dims);
  }
  // Exact: nElements is a safe integer and a multiple of blockSize.
  const nBytes = (nElements / traits.blockSize) * traits.typeSize;
  if (!Number.isSafeInteger(nBytes)) badShape('byte size overflows 2^53', nDimsAt, dims);

  const offsetAt = c.pos;
  const relOffset = c.u64Safe(name);
  if (relOffset < 0 || relOffset > c.size) {
    throw c.fail('GGUF_BAD_OFFSET', `tensor '${name}' has data offset ${relOffset < 0 ? '≥ 2^53' : relOffset}, beyond the file`, {
      offset: offsetAt,
      tensor: name,
      field: 'offset',
      expected: `≤ ${c.size}`,
      actual: relOffset,
    });
  }
  if (relOffset % alignment !== 0) {
    throw c.fail('GGUF_BAD_OFFSET', `tensor '${name}' data offset ${relOffset} is not a multiple of the alignment ${alignment}`, {
      offset: offsetAt,
      tensor: name,
      field: 'offset',
      expected: `multiple of ${alignment}`,
      actual: relOffset,
    });
  }
  return { info: { name, type, dims, nElements, nBytes, relOffset }, offsetAt };
}
