/**
 * One `.safetensors` file: the validated header, and tensor bytes read on
 * demand straight into the caller's buffer (engine memory), never the whole
 * file — a checkpoint shard is often 5 GB.
 */
import { requireArg, StreamLlmError } from '../../errors.js';
import { bufferSource, fileSource, type ByteSource } from '../gguf/source.js';
import { parseSafetensorsHeader, type SafetensorsTensorInfo } from './header.js';

/**
 * @example
 * using f = SafetensorsFile.open('model.safetensors');
 * const t = f.tensor('model.norm.weight')!;
 * const bytes = f.readTensor(t, new Uint8Array(t.nBytes));
 */
export class SafetensorsFile implements Disposable {
  readonly name: string;
  /** In header order. */
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** The header's "__metadata__" strings (e.g. format: 'pt'). */
  readonly metadata: ReadonlyMap<string, string>;
  /** Absolute offset of the data section. */
  readonly dataStart: number;
  readonly fileSize: number;

  private readonly src: ByteSource;
  private readonly byName: ReadonlyMap<string, SafetensorsTensorInfo>;
  private closed = false;

  private constructor(src: ByteSource) {
    const h = parseSafetensorsHeader(src);
    this.src = src;
    this.name = src.name;
    this.fileSize = src.size;
    this.tensors = h.tensors;
    this.metadata = h.metadata;
    this.dataStart = h.dataStart;
    this.byName = new Map(h.tensors.map((t) => [t.name, t]));
  }

  /** Opens and validates a file; the handle stays open for readTensor until close(). */
  static open(path: string): SafetensorsFile {
    return SafetensorsFile.fromSource(fileSource(path));
  }

  /** Parses bytes in memory (not copied). */
  static fromBytes(bytes: Uint8Array, name = '<memory>'): SafetensorsFile {
    return SafetensorsFile.fromSource(bufferSource(bytes, name));
  }

  /** Takes ownership of `src`: closed on close(), or right away if the header is invalid. */
  static fromSource(src: ByteSource): SafetensorsFile {
    try {
      return new SafetensorsFile(src);
    } catch (err) {
      src.close();
      throw err;
    }
  }

  tensor(name: string): SafetensorsTensorInfo | undefined {
    return this.byName.get(name);
  }

  /** Reads the tensor's bytes into `dest`, which must be exactly `info.nBytes` long. Returns `dest`. */
  readTensor(info: SafetensorsTensorInfo | string, dest: Uint8Array): Uint8Array {
    if (this.closed) throw new StreamLlmError('FILE_READ', `read after close: ${this.name}`, { context: { file: this.name } });
    const t = typeof info === 'string' ? this.byName.get(info) : info;
    const name = typeof info === 'string' ? info : info.name;
    if (t === undefined || this.byName.get(t.name) !== t) {
      throw new StreamLlmError('MISSING_TENSOR', `tensor '${name}' is not in ${this.name}`, { context: { file: this.name, tensor: name } });
    }
    requireArg(dest.length === t.nBytes, `destination holds ${dest.length} bytes, tensor '${t.name}' needs ${t.nBytes}`, {
      file: this.name,
      tensor: t.name,
      expected: t.nBytes,
      actual: dest.length,
    });
    if (t.nBytes > 0) this.src.read(t.offset, dest);
    return dest;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.src.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
