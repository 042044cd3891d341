/**
 * Writing a model file piece by piece: `body` gets a `put(bytes)` that
 * appends at the current position. On any error the partial file is removed
 * and the failure becomes a typed FILE_WRITE (or the body's own
 * StreamLlmError). Returns the number of bytes written.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { StreamLlmError } from '../errors.js';

export function writeFileStreamed(path: string, body: (put: (bytes: Uint8Array) => void) => void): number {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new StreamLlmError('FILE_WRITE', `cannot create ${path}`, { context: { file: path }, cause: err });
  }
  let open = true;
  try {
    let pos = 0;
    body((bytes) => {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, pos + done);
      pos += bytes.length;
    });
    open = false;
    closeSync(fd);
    return pos;
  } catch (err) {
    if (open) closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // Best effort: the original error is the one worth reporting.
    }
    if (err instanceof StreamLlmError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new StreamLlmError('FILE_WRITE', `writing ${path} failed: ${String(code ?? err)}`, {
      context: { file: path },
      cause: err,
      hint: code === 'ENOSPC' ? 'the disk is full; the partial file was removed' : 'the partial file was removed',
    });
  }
}
