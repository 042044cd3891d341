/**
 * GGUF writer. The header is built in memory (it is small next to the
 * weights, even with a 150k-token vocabulary); tensor data is streamed one
 * tensor at a time, and may be produced lazily, so a converter can write a
 * multi-GB file while holding a single tensor.
 *
 * Layout written: header | zero padding to `alignment` | for each tensor, in
 * the order given: data | zero padding to `alignment`. Offsets are therefore
 * sequential, which is what llama.cpp requires of the files it loads.
 */
import { StreamLlmError, type ErrorCode } from '../../errors.js';
import { writeFileStreamed } from '../write-file.js';
import { GgmlType, typeName, typeTraits } from '../../tensor/dtype.js';
import { ByteWriter, encodeValue } from './encode.js';
import { MAX_DIMS } from './header.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, type GgufEntry } from './types.js';

export interface GgufWriterTensor {
  readonly name: string;
  readonly type: GgmlType;
  /** ggml order: dims[0] is the contiguous dimension. */
  readonly dims: readonly number[];
  /** The encoded bytes, or a function producing them when the tensor is written. */
  readonly data: Uint8Array | (() => Uint8Array);
}

export interface GgufWriteOptions {
  /** Written in iteration order. A Map or an array of pairs both work. */
  readonly metadata: Iterable<readonly [string, GgufEntry]>;
  readonly tensors: readonly GgufWriterTensor[];
  readonly version?: 2 | 3;
  /** Power of two; recorded as `general.alignment` unless it is the default 32. */
  readonly alignment?: number;
}

// ggml's GGML_MAX_NAME is 64 including the NUL; llama.cpp rejects longer names.
const MAX_TENSOR_NAME_BYTES = 63;
const utf8 = new TextEncoder();

interface PlannedTensor {
  readonly tensor: GgufWriterTensor;
  readonly nBytes: number;
  readonly relOffset: number;
}

interface Plan {
  /** Header including the padding that aligns the data section. */
  readonly header: Uint8Array;
  readonly alignment: number;
  readonly tensors: readonly PlannedTensor[];
  readonly totalSize: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

function fail(code: ErrorCode, message: string, context: Record<string, unknown>): StreamLlmError {
  return new StreamLlmError(code, message, { context });
}

/** Validates everything that can be checked before writing a byte, and lays the file out. */
function plan(opts: GgufWriteOptions): Plan {
  const version = opts.version ?? 3;
  if (version !== 2 && version !== 3) throw fail('BAD_ARGUMENT', `cannot write GGUF version ${String(version)}`, { actual: version });
  const alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 1 || alignment > 0x4000_0000 || (alignment & (alignment - 1)) !== 0) {
    throw fail('GGUF_BAD_ALIGNMENT', `alignment ${alignment} is not a power of two`, { field: 'general.alignment', actual: alignment });
  }

  const metadata = new Map<string, GgufEntry>();
  for (const [key, entry] of opts.metadata) {
    if (metadata.has(key)) throw fail('GGUF_DUPLICATE_KEY', `metadata key '${key}' given twice`, { field: key });
    metadata.set(key, entry);
  }
  const given = metadata.get('general.alignment');
  if (given !== undefined) {
    if (given.type !== GgufValueType.UINT32 || given.value !== alignment) {
      throw fail('BAD_ARGUMENT', `metadata general.alignment disagrees with alignment ${alignment}`, {
        field: 'general.alignment',
        expected: `UINT32 ${alignment}`,
        actual: given.value,
      });
    }
  } else if (alignment !== GGUF_DEFAULT_ALIGNMENT) {
    metadata.set('general.alignment', { type: GgufValueType.UINT32, value: alignment });
  }

  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(version);
  w.u64(opts.tensors.length);
  w.u64(metadata.size);
  for (const [key, entry] of metadata) {
    w.str(key);
    w.u32(entry.type);
    encodeValue(w, entry.type, entry.value, key);
  }

  const names = new Set<string>();
  const planned: PlannedTensor[] = [];
  let rel = 0;
  for (const t of opts.tensors) {
    if (names.has(t.name)) throw fail('GGUF_DUPLICATE_TENSOR', `tensor '${t.name}' given twice`, { tensor: t.name });
    names.add(t.name);
    const nBytes = tensorBytes(t);
    if (t.data instanceof Uint8Array) checkLength(t, t.data, nBytes);
    planned.push({ tensor: t, nBytes, relOffset: rel });
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(rel);
    rel = alignUp(rel + nBytes, alignment);
  }
  w.zeros(alignUp(w.length, alignment) - w.length);
  return { header: w.bytes(), alignment, tensors: planned, totalSize: w.length + rel };
}

/** Bytes the tensor's data must have, after validating its name, type and shape. */
function tensorBytes(t: GgufWriterTensor): number {
  const ctx = { tensor: t.name, actual: t.dims };
  if (utf8.encode(t.name).length > MAX_TENSOR_NAME_BYTES) {
    throw fail('BAD_ARGUMENT', `tensor name '${t.name}' is longer than ${MAX_TENSOR_NAME_BYTES} bytes`, { tensor: t.name });
  }
  const traits = typeTraits(t.type);
  if (traits === undefined) throw fail('UNSUPPORTED_TENSOR_TYPE', `tensor '${t.name}': unknown ggml type ${t.type}`, { tensor: t.name, actual: t.type });
  if (t.dims.length < 1 || t.dims.length > MAX_DIMS) throw fail('GGUF_BAD_SHAPE', `tensor '${t.name}' needs 1..${MAX_DIMS} dims`, ctx);
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 1) throw fail('GGUF_BAD_SHAPE', `tensor '${t.name}' has dimension ${d}`, ctx);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw fail('GGUF_BAD_SHAPE', `tensor '${t.name}' has too many elements`, ctx);
  if (t.dims[0]! % traits.blockSize !== 0) {
    throw fail('GGUF_BAD_SHAPE', `tensor '${t.name}': ne0 ${t.dims[0]} is not a multiple of the ${typeName(t.type)} block size ${traits.blockSize}`, ctx);
  }
  return (n / traits.blockSize) * traits.typeSize;
}

function checkLength(t: GgufWriterTensor, data: Uint8Array, nBytes: number): void {
  if (data.length !== nBytes) {
    throw fail('BAD_ARGUMENT', `tensor '${t.name}' (${typeName(t.type)} [${t.dims.join(', ')}]) needs ${nBytes} bytes of data, got ${data.length}`, {
      tensor: t.name,
      expected: nBytes,
      actual: data.length,
    });
  }
}

function dataOf(p: PlannedTensor): Uint8Array {
  const d = p.tensor.data;
  const bytes = typeof d === 'function' ? d() : d;
  checkLength(p.tensor, bytes, p.nBytes);
  return bytes;
}

/**
 * Encodes a whole GGUF file in memory. Meant for tests and small files; use
 * writeGguf for anything large.
 *
 * @example
 * const bytes = encodeGguf({
 *   metadata: [['general.architecture', gv.str('llama')]],
 *   tensors: [{ name: 'w', type: GgmlType.F32, dims: [4], data: new Uint8Array(16) }],
 * });
 */
export function encodeGguf(opts: GgufWriteOptions): Uint8Array {
  const p = plan(opts);
  const out = new Uint8Array(p.totalSize); // zero-filled, so padding is free
  out.set(p.header);
  for (const t of p.tensors) out.set(dataOf(t), p.header.length + t.relOffset);
  return out;
}

/**
 * Writes a GGUF file to `path`, one tensor at a time; lazy `data` callbacks
 * are called in order, and each result can be dropped once written. On any
 * error the partial file is removed. Returns the file size.
 *
 * @example
 * writeGguf('out.gguf', {
 *   metadata: [['general.architecture', gv.str('llama')]],
 *   tensors: names.map((name) => ({ name, type: GgmlType.Q8_0, dims: [4096, 4096], data: () => convert(name) })),
 * });
 */
export function writeGguf(path: string, opts: GgufWriteOptions): number {
  const p = plan(opts);
  return writeFileStreamed(path, (put) => {
    put(p.header);
    const zeros = new Uint8Array(p.alignment);
    for (const t of p.tensors) {
      put(dataOf(t));
      put(zeros.subarray(0, alignUp(t.nBytes, p.alignment) - t.nBytes));
    }
  });
}
