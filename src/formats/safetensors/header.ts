/**
 * The safetensors header (format: github.com/huggingface/safetensors, README
 * "Format"): an 8-byte little-endian length N, then N bytes of UTF-8 JSON
 * mapping each tensor name to { dtype, shape, data_offsets: [begin, end] }
 * (plus an optional "__metadata__" map of strings), then the data section;
 * offsets are relative to its start and tensors are row-major (C order).
 *
 * Everything here is untrusted: N is bounded by the file and by a cap before
 * a byte is allocated, every offset must lie inside the data section, tensors
 * must not overlap, and shape × dtype size must equal the byte range.
 */
import { StreamLlmError, type ErrorCode, type ErrorContext } from '../../errors.js';
import type { ByteSource } from '../gguf/source.js';
import { isJsonObject, JsonError, parseStrictJson, type Json } from './json.js';

/** The reference implementation refuses headers above 100 MB; so do we. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Bytes per element of every dtype the format defines with a whole-byte size. */
export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Row-major: shape[0] is the outermost dimension (the reverse of ggml's dims). */
  readonly shape: readonly number[];
  readonly nElements: number;
  readonly nBytes: number;
  /** As stored: relative to the data section. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute byte offset in the file. */
  readonly offset: number;
}

export interface SafetensorsHeader {
  /** N, the JSON length. */
  readonly headerLength: number;
  /** Absolute offset of the data section (8 + N). */
  readonly dataStart: number;
  /** In header order. */
  readonly tensors: readonly SafetensorsTensorInfo[];
  readonly metadata: ReadonlyMap<string, string>;
}

/** What went wrong: an error code each, with the same name also in `context.reason`. */
export type SafetensorsProblem = 'bad-header' | 'truncated' | 'bad-offset' | 'duplicate-tensor';

const CODE: Readonly<Record<SafetensorsProblem, ErrorCode>> = {
  'bad-header': 'SAFETENSORS_BAD_HEADER',
  truncated: 'SAFETENSORS_TRUNCATED',
  'bad-offset': 'SAFETENSORS_BAD_OFFSET',
  'duplicate-tensor': 'SAFETENSORS_DUPLICATE_TENSOR',
};

export function safetensorsError(problem: SafetensorsProblem, message: string, context: ErrorContext, hint?: string): StreamLlmError {
  return new StreamLlmError(CODE[problem], message, { context: { ...context, format: 'safetensors', reason: problem }, ...(hint !== undefined ? { hint } : {}) });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads and validates the header of `src`.
 * @example
 * const h = parseSafetensorsHeader(fileSource('model.safetensors'));
 * h.tensors[0]; // { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [32000, 4096], ... }
 */
export function parseSafetensorsHeader(src: ByteSource): SafetensorsHeader {
  const file = src.name;
  if (src.size < 8) {
    throw safetensorsError('truncated', `${file} is ${src.size} bytes, too short for a safetensors header`, { file, offset: 0 });
  }
  const lenBytes = new Uint8Array(8);
  src.read(0, lenBytes);
  const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) {
    throw safetensorsError('bad-header', `header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER}-byte limit`, { file, offset: 0, actual: n.toString() },
      'this is not a safetensors file, or its first 8 bytes are damaged');
  }
  const headerLength = Number(n);
  if (headerLength > src.size - 8) {
    throw safetensorsError('truncated', `header length ${headerLength} runs past the end of the file (${src.size} bytes)`, {
      file, offset: 0, expected: `≤ ${src.size - 8}`, actual: headerLength,
    });
  }
  if (headerLength < 2) throw safetensorsError('bad-header', `header length ${headerLength} cannot hold a JSON object`, { file, offset: 0 });
  const raw = new Uint8Array(headerLength);
  src.read(8, raw);

  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw safetensorsError('bad-header', 'header is not valid UTF-8', { file, offset: 8 });
  }
  // The format requires the header to start with '{' (it may end in space padding).
  if (!text.startsWith('{')) throw safetensorsError('bad-header', "header does not start with '{'", { file, offset: 8 });
  let root: Json;
  try {
    root = parseStrictJson(text, 8);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    const offset = 8 + new TextEncoder().encode(text.slice(0, e.pos)).length;
    if (e.duplicate?.depth === 0) {
      throw safetensorsError('duplicate-tensor', `tensor '${e.duplicate.key}' is listed twice in the header`, { file, offset, tensor: e.duplicate.key });
    }
    throw safetensorsError('bad-header', `header is not valid JSON: ${e.message}`, { file, offset });
  }
  if (!isJsonObject(root)) throw safetensorsError('bad-header', 'header is not a JSON object', { file, offset: 8 });

  const dataStart = 8 + headerLength;
  const dataSize = src.size - dataStart;
  const tensors: SafetensorsTensorInfo[] = [];
  let metadata = new Map<string, string>();
  for (const [name, entry] of root) {
    if (name === '__metadata__') {
      metadata = readMetadata(entry, file);
      continue;
    }
    tensors.push(readEntry(name, entry, file, dataStart, dataSize));
  }
  checkOverlaps(tensors, file);
  return { headerLength, dataStart, tensors, metadata };
}

function readMetadata(entry: Json, file: string): Map<string, string> {
  if (!isJsonObject(entry)) throw safetensorsError('bad-header', '__metadata__ is not an object', { file, field: '__metadata__' });
  const out = new Map<string, string>();
  for (const [k, v] of entry) {
    if (typeof v !== 'string') throw safetensorsError('bad-header', `__metadata__.${k} is not a string`, { file, field: `__metadata__.${k}` });
    out.set(k, v);
  }
  return out;
}

const isCount = (v: Json | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function readEntry(name: string, entry: Json, file: string, dataStart: number, dataSize: number): SafetensorsTensorInfo {
  const bad = (what: string, field?: string) =>
    safetensorsError('bad-header', `tensor '${name}': ${what}`, { file, tensor: name, ...(field !== undefined ? { field } : {}) });
  if (name.length === 0) throw bad('empty tensor name');
  if (!isJsonObject(entry)) throw bad('entry is not an object');
  const dtype = entry.get('dtype');
  const shape = entry.get('shape');
  const offsets = entry.get('data_offsets');
  if (typeof dtype !== 'string') throw bad('dtype is missing or not a string', 'dtype');
  if (!Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw new StreamLlmError('UNSUPPORTED_TENSOR_TYPE', `tensor '${name}' has dtype '${dtype}', which this reader does not know`, {
      context: { file, tensor: name, actual: dtype, format: 'safetensors' },
      hint: `known: ${Object.keys(DTYPE_BYTES).join(', ')}`,
    });
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) throw bad('shape is not an array of non-negative integers', 'shape');
  if (shape.length > 8) throw bad(`shape has ${shape.length} dimensions (at most 8 are accepted)`, 'shape');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw bad('data_offsets is not a pair of non-negative integers', 'data_offsets');
  }
  const [begin, end] = offsets as [number, number];
  let nElements = 1;
  for (const d of shape) {
    nElements *= d;
    if (!Number.isSafeInteger(nElements)) throw bad(`shape [${shape.join(', ')}] has too many elements`, 'shape');
  }
  const nBytes = nElements * DTYPE_BYTES[dtype as SafetensorsDtype];
  if (begin > end) {
    throw safetensorsError('bad-offset', `tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`, { file, tensor: name, offset: dataStart + begin });
  }
  if (end > dataSize) {
    throw safetensorsError('truncated', `tensor '${name}': data_offsets end ${end} is past the data section (${dataSize} bytes)`, {
      file, tensor: name, offset: dataStart + begin, expected: `≤ ${dataSize}`, actual: end,
    });
  }
  if (end - begin !== nBytes) {
    throw new StreamLlmError('TENSOR_SHAPE_MISMATCH', `tensor '${name}': shape [${shape.join(', ')}] × ${dtype} is ${nBytes} bytes but data_offsets span ${end - begin}`, {
      context: { file, tensor: name, offset: dataStart + begin, expected: nBytes, actual: end - begin, format: 'safetensors' },
    });
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], nElements, nBytes, dataOffsets: [begin, end], offset: dataStart + begin };
}

/**
 * No two tensors may share a byte (the reference implementation also
 * refuses holes; we tolerate them, since reading never touches them).
 */
function checkOverlaps(tensors: readonly SafetensorsTensorInfo[], file: string): void {
  const byStart = tensors.filter((t) => t.nBytes > 0).sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1]!;
    const t = byStart[i]!;
    if (t.dataOffsets[0] < prev.dataOffsets[1]) {
      throw safetensorsError('bad-offset', `tensors '${prev.name}' and '${t.name}' overlap`, {
        file, tensor: t.name, offset: t.offset, other: prev.name, expected: `≥ ${prev.dataOffsets[1]}`, actual: t.dataOffsets[0],
      });
    }
  }
}
