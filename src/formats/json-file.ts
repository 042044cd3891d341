/**
 * Small JSON side files of a checkpoint (config.json, tokenizer.json, a
 * shard index), read whole but only after checking their size against a cap,
 * so a wrong path (a 5 GB weight file) fails fast instead of exhausting memory.
 */
import { readFileSync, statSync } from 'node:fs';
import { StreamLlmError, type ErrorCode } from '../errors.js';

export interface JsonFileOptions {
  /** Refuse files above this many bytes. */
  readonly maxBytes: number;
  /** Code for a file that is not (valid) JSON of the expected kind. */
  readonly code: ErrorCode;
}

/** The file's text, or FILE_NOT_FOUND / FILE_READ / `opts.code` (too big, not UTF-8). */
export function readTextFile(path: string, opts: JsonFileOptions): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new StreamLlmError('FILE_READ', `not a regular file: ${path}`, { context: { file: path } });
    size = st.size;
  } catch (e) {
    if (e instanceof StreamLlmError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new StreamLlmError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_READ', `cannot open ${path}`, { context: { file: path }, cause: e });
  }
  if (size > opts.maxBytes) {
    throw new StreamLlmError(opts.code, `${path} is ${size} bytes, more than the ${opts.maxBytes} accepted for this kind of file`, {
      context: { file: path, expected: `≤ ${opts.maxBytes}`, actual: size },
    });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new StreamLlmError('FILE_READ', `cannot read ${path}`, { context: { file: path }, cause: e });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new StreamLlmError(opts.code, `${path} is not valid UTF-8`, { context: { file: path }, cause: e });
  }
}

/**
 * Parses a JSON file (JSON.parse: fine for files whose duplicate keys do not
 * matter; keys such as "__proto__" become own properties, not prototypes).
 * @example
 * const cfg = readJsonFile('config.json', { maxBytes: 1 << 24, code: 'BAD_HPARAMS' });
 */
export function readJsonFile(path: string, opts: JsonFileOptions): unknown {
  const text = readTextFile(path, opts);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StreamLlmError(opts.code, `${path} is not valid JSON: ${(e as Error).message}`, { context: { file: path }, cause: e });
  }
}
