/**
 * Random-access byte sources for the GGUF reader. A model file can be many GB,
 * so the reader never asks for "the whole file": it pulls the header through a
 * small buffer and reads each tensor straight into the caller's memory.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StreamLlmError } from '../../errors.js';

/**
 * Something the reader can pull bytes from at arbitrary offsets.
 * `read` fills all of `dest` from `offset` or throws; it never returns short.
 */
export interface ByteSource {
  /** For error messages: a path, or '<memory>'. */
  readonly name: string;
  readonly size: number;
  read(offset: number, dest: Uint8Array): void;
  close(): void;
}

// readSync takes an int32 length; stay well under it so multi-GB tensors
// are read in a loop instead of tripping a RangeError inside node.
const MAX_READ = 1 << 30;

/**
 * Opens `path` for positional reads. FILE_NOT_FOUND if it does not exist,
 * FILE_READ for anything else (permissions, a directory, I/O errors).
 *
 * @example
 * const src = fileSource('model.gguf');
 * const head = new Uint8Array(8);
 * src.read(0, head);
 * src.close();
 */
export function fileSource(path: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new StreamLlmError('FILE_NOT_FOUND', `no such file: ${path}`, { context: { file: path }, cause: err });
    }
    throw new StreamLlmError('FILE_READ', `cannot open ${path}: ${String(code ?? err)}`, {
      context: { file: path },
      cause: err,
    });
  }
  let size: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new StreamLlmError('FILE_READ', `not a regular file: ${path}`, { context: { file: path } });
    size = st.size;
  } catch (err) {
    closeSync(fd);
    if (err instanceof StreamLlmError) throw err;
    throw new StreamLlmError('FILE_READ', `cannot stat ${path}`, { context: { file: path }, cause: err });
  }

  let open = true;
  return {
    name: path,
    size,
    read(offset: number, dest: Uint8Array): void {
      if (!open) throw new StreamLlmError('FILE_READ', `read after close: ${path}`, { context: { file: path, offset } });
      checkRange(path, size, offset, dest.length);
      let done = 0;
      while (done < dest.length) {
        const want = Math.min(dest.length - done, MAX_READ);
        let got: number;
        try {
          got = readSync(fd, dest, done, want, offset + done);
        } catch (err) {
          throw new StreamLlmError('FILE_READ', `read failed in ${path}`, {
            context: { file: path, offset: offset + done },
            cause: err,
          });
        }
        // 0 means EOF: the file shrank under us since we took its size.
        if (got === 0) {
          throw new StreamLlmError('FILE_READ', `unexpected end of file in ${path}`, {
            context: { file: path, offset: offset + done, expected: size },
            hint: 'the file was truncated while open',
          });
        }
        done += got;
      }
    },
    close(): void {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

/**
 * Wraps bytes already in memory (tests, fetched files). The bytes are not
 * copied, so later mutation by the caller is visible to readers.
 *
 * @example
 * const file = GgufFile.fromSource(bufferSource(new Uint8Array(await blob.arrayBuffer()), 'upload.gguf'));
 */
export function bufferSource(bytes: Uint8Array, name = '<memory>'): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset: number, dest: Uint8Array): void {
      checkRange(name, bytes.length, offset, dest.length);
      dest.set(bytes.subarray(offset, offset + dest.length));
    },
    close(): void {},
  };
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > size) {
    throw new StreamLlmError('FILE_READ', `read of ${length} bytes at ${offset} is outside ${name} (${size} bytes)`, {
      context: { file: name, offset, expected: size, actual: offset + length },
    });
  }
}
