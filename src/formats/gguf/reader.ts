/**
 * GgufFile: a parsed GGUF header plus positional access to tensor data.
 * Opening parses and validates only the header; tensor bytes are read on
 * demand, straight into memory the caller owns.
 */
import { requireArg, StreamLlmError } from '../../errors.js';
import { parseHeader } from './header.js';
import { bufferSource, fileSource, type ByteSource } from './source.js';
import { GgufValueType, isGgufArray, type GgufArray, type GgufEntry, type GgufTensorInfo } from './types.js';

const INT_TYPES: ReadonlySet<GgufValueType> = new Set([
  GgufValueType.UINT8,
  GgufValueType.INT8,
  GgufValueType.UINT16,
  GgufValueType.INT16,
  GgufValueType.UINT32,
  GgufValueType.INT32,
  GgufValueType.UINT64,
  GgufValueType.INT64,
]);

function isNumericType(t: GgufValueType): boolean {
  return INT_TYPES.has(t) || t === GgufValueType.FLOAT32 || t === GgufValueType.FLOAT64;
}

/**
 * A GGUF v2/v3 file. Owns its ByteSource: call `close()` (or use `using`).
 *
 * @example
 * using f = GgufFile.open('model.gguf');
 * const arch = f.getString('general.architecture');
 * const ctx = f.getNumber(`${arch}.context_length`, 2048);
 * const info = f.tensor('token_embd.weight');
 * if (info) f.readTensor(info, new Uint8Array(info.nBytes));
 */
export class GgufFile implements Disposable {
  readonly name: string;
  readonly version: 2 | 3;
  readonly metadata: ReadonlyMap<string, GgufEntry>;
  /** In file order. */
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the tensor data section. */
  readonly dataOffset: number;
  readonly fileSize: number;

  private readonly src: ByteSource;
  private readonly keyOffsets: ReadonlyMap<string, number>;
  private readonly byName: ReadonlyMap<string, GgufTensorInfo>;
  private closed = false;

  private constructor(src: ByteSource) {
    const h = parseHeader(src);
    this.src = src;
    this.name = src.name;
    this.fileSize = src.size;
    this.version = h.version;
    this.metadata = h.metadata;
    this.keyOffsets = h.keyOffsets;
    this.tensors = h.tensors;
    this.alignment = h.alignment;
    this.dataOffset = h.dataOffset;
    this.byName = new Map(h.tensors.map((t) => [t.name, t]));
  }

  /** Opens and parses a file from disk; the handle stays open for readTensor. */
  static open(path: string): GgufFile {
    return GgufFile.fromSource(fileSource(path));
  }

  /** Parses bytes in memory (not copied). */
  static fromBytes(bytes: Uint8Array, name = '<memory>'): GgufFile {
    return GgufFile.fromSource(bufferSource(bytes, name));
  }

  /** Takes ownership of `src`: it is closed on close(), or right away if parsing fails. */
  static fromSource(src: ByteSource): GgufFile {
    try {
      return new GgufFile(src);
    } catch (err) {
      src.close();
      throw err;
    }
  }

  /** The tensor called `name`, or undefined (the model loader reports what is missing). */
  tensor(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }

  /**
   * Reads the tensor's bytes into `dest`, which must be exactly `info.nBytes`
   * long (pass a subarray of a larger buffer). No intermediate copy is made,
   * so `dest` can be a view into WebAssembly memory. Returns `dest`.
   */
  readTensor(info: GgufTensorInfo, dest: Uint8Array): Uint8Array {
    this.checkOpen();
    const own = this.byName.get(info.name);
    requireArg(
      own !== undefined && own.offset === info.offset && own.nBytes === info.nBytes,
      `tensor '${info.name}' does not belong to ${this.name}`,
      { file: this.name, tensor: info.name },
    );
    requireArg(dest.length === info.nBytes, `destination holds ${dest.length} bytes, tensor '${info.name}' needs ${info.nBytes}`, {
      file: this.name,
      tensor: info.name,
      expected: info.nBytes,
      actual: dest.length,
    });
    if (info.nBytes > 0) this.src.read(info.offset, dest);
    return dest;
  }

  /** Convenience: reads a tensor into a fresh buffer. */
  tensorBytes(info: GgufTensorInfo): Uint8Array {
    return this.readTensor(info, new Uint8Array(info.nBytes));
  }

  /** The entry for `key`; MISSING_METADATA if absent (use `metadata.get` for optional keys). */
  get(key: string): GgufEntry {
    const e = this.metadata.get(key);
    if (e === undefined) throw this.missing(key);
    return e;
  }

  getString(key: string, fallback?: string): string {
    const e = this.metadata.get(key);
    if (e === undefined) return this.orMissing(key, fallback);
    if (e.type !== GgufValueType.STRING) throw this.badType(key, e, 'string');
    return e.value as string;
  }

  /**
   * Any integer or float type as a number. 64-bit integers are accepted only
   * when they are exactly representable (|v| ≤ 2^53 - 1).
   */
  getNumber(key: string, fallback?: number): number {
    const e = this.metadata.get(key);
    if (e === undefined) return this.orMissing(key, fallback);
    if (!isNumericType(e.type)) throw this.badType(key, e, 'number');
    return this.toNumber(key, e.value as number | bigint);
  }

  getBool(key: string, fallback?: boolean): boolean {
    const e = this.metadata.get(key);
    if (e === undefined) return this.orMissing(key, fallback);
    if (e.type !== GgufValueType.BOOL) throw this.badType(key, e, 'bool');
    return e.value as boolean;
  }

  /** An array of strings (e.g. tokenizer.ggml.tokens). */
  getStringArray(key: string, fallback?: readonly string[]): readonly string[] {
    const e = this.metadata.get(key);
    if (e === undefined) return this.orMissing(key, fallback);
    const arr = this.arrayOf(key, e, 'array of strings');
    if (arr.itemType !== GgufValueType.STRING) throw this.badType(key, e, 'array of strings');
    return arr.items as readonly string[];
  }

  /**
   * A numeric array as a Float64Array: compact for 100k-entry vocab arrays and
   * exact for every GGUF number type up to 32 bits and for 64-bit values within
   * ±(2^53 - 1); larger 64-bit values are GGUF_BAD_VALUE.
   */
  getNumberArray(key: string, fallback?: Float64Array): Float64Array {
    const e = this.metadata.get(key);
    if (e === undefined) return this.orMissing(key, fallback);
    const arr = this.arrayOf(key, e, 'array of numbers');
    if (!isNumericType(arr.itemType)) throw this.badType(key, e, 'array of numbers');
    const out = new Float64Array(arr.items.length);
    for (let i = 0; i < out.length; i++) out[i] = this.toNumber(key, arr.items[i] as number | bigint);
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.src.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamLlmError('FILE_READ', `${this.name} is closed`, { context: { file: this.name } });
  }

  private arrayOf(key: string, e: GgufEntry, want: string): GgufArray {
    if (e.type !== GgufValueType.ARRAY || !isGgufArray(e.value)) throw this.badType(key, e, want);
    return e.value;
  }

  private toNumber(key: string, v: number | bigint): number {
    if (typeof v === 'number') return v;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new StreamLlmError('GGUF_BAD_VALUE', `'${key}' holds ${v}, too large to use as a number`, {
        context: { file: this.name, offset: this.keyOffsets.get(key), field: key, expected: '|v| ≤ 2^53 - 1', actual: v.toString() },
      });
    }
    return Number(v);
  }

  private orMissing<T>(key: string, fallback: T | undefined): T {
    if (fallback === undefined) throw this.missing(key);
    return fallback;
  }

  private missing(key: string): StreamLlmError {
    return new StreamLlmError('MISSING_METADATA', `${this.name} has no metadata key '${key}'`, {
      context: { file: this.name, field: key },
    });
  }

  private badType(key: string, e: GgufEntry, want: string): StreamLlmError {
    const actual = isGgufArray(e.value) ? `array of ${GgufValueType[e.value.itemType]}` : GgufValueType[e.type];
    return new StreamLlmError('GGUF_BAD_VALUE', `'${key}' is ${actual}, expected ${want}`, {
      context: { file: this.name, offset: this.keyOffsets.get(key), field: key, expected: want, actual },
    });
  }
}
