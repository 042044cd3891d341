/**
 * A forward-only, buffered little-endian cursor over a ByteSource, used to
 * parse the GGUF header. Real headers hold tokenizer arrays of tens of MB and
 * hundreds of thousands of tiny strings, so reads go through one chunk buffer
 * instead of a syscall per field.
 *
 * Every length or count read here is checked against a sanity cap and the
 * bytes left in the file *before* anything is allocated for it, so a corrupt
 * header can make us allocate at most a small multiple of the file size.
 */
import { StreamLlmError, type ErrorCode, type ErrorContext } from '../../errors.js';
import type { ByteSource } from './source.js';

const DEFAULT_CHUNK = 1 << 20;

/**
 * Sanity caps, far above anything real (vocabularies have ~10^5 tokens, chat
 * templates ~10^4 bytes) and below what V8 can hold (strings < 2^29 chars).
 * They keep a corrupt count in a multi-GB file from allocating GBs.
 */
export const MAX_ITEMS = 1 << 26;
export const MAX_STRING_BYTES = 1 << 28;

// Non-fatal: real vocabularies contain token strings that are not valid UTF-8
// (partial byte sequences); they must load, with U+FFFD where bytes are bad.
// ignoreBOM keeps a leading U+FEFF in a token instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export class HeaderCursor {
  /** Absolute file offset of the next byte to read. */
  pos = 0;
  private buf: Uint8Array;
  private view: DataView;
  /** Absolute file offset of buf[0]; buf holds [bufStart, bufEnd). */
  private bufStart = 0;
  private bufEnd = 0;

  constructor(
    private readonly src: ByteSource,
    private readonly chunk = DEFAULT_CHUNK,
  ) {
    // Small files (tests, fuzzing) need not pay for a whole chunk.
    this.buf = new Uint8Array(Math.max(8, Math.min(chunk, src.size)));
    this.view = new DataView(this.buf.buffer);
  }

  get size(): number {
    return this.src.size;
  }

  get remaining(): number {
    return this.src.size - this.pos;
  }

  /** A StreamLlmError located in this file; `offset` defaults to the cursor. */
  fail(code: ErrorCode, message: string, context: ErrorContext = {}, hint?: string): StreamLlmError {
    const opts: { context: ErrorContext; hint?: string } = {
      context: { file: this.src.name, offset: this.pos, ...context },
    };
    if (hint !== undefined) opts.hint = hint;
    return new StreamLlmError(code, message, opts);
  }

  /** Makes [pos, pos+n) available in the buffer, refilling from pos. */
  private need(n: number, field: string): number {
    if (this.pos + n <= this.bufEnd) return this.pos - this.bufStart;
    if (n > this.remaining) {
      throw this.fail('GGUF_TRUNCATED', `file ends inside '${field}' (needs ${n} bytes, ${this.remaining} left)`, {
        field,
        expected: this.pos + n,
        actual: this.src.size,
      });
    }
    const len = Math.min(Math.max(this.buf.length, n), this.remaining);
    if (len > this.buf.length) {
      this.buf = new Uint8Array(len);
      this.view = new DataView(this.buf.buffer);
    }
    this.src.read(this.pos, this.buf.subarray(0, len));
    this.bufStart = this.pos;
    this.bufEnd = this.pos + len;
    return 0;
  }

  u8(field: string): number {
    const i = this.need(1, field);
    this.pos += 1;
    return this.buf[i]!;
  }
  i8(field: string): number {
    const i = this.need(1, field);
    this.pos += 1;
    return this.view.getInt8(i);
  }
  u16(field: string): number {
    const i = this.need(2, field);
    this.pos += 2;
    return this.view.getUint16(i, true);
  }
  i16(field: string): number {
    const i = this.need(2, field);
    this.pos += 2;
    return this.view.getInt16(i, true);
  }
  u32(field: string): number {
    const i = this.need(4, field);
    this.pos += 4;
    return this.view.getUint32(i, true);
  }
  i32(field: string): number {
    const i = this.need(4, field);
    this.pos += 4;
    return this.view.getInt32(i, true);
  }
  f32(field: string): number {
    const i = this.need(4, field);
    this.pos += 4;
    return this.view.getFloat32(i, true);
  }
  f64(field: string): number {
    const i = this.need(8, field);
    this.pos += 8;
    return this.view.getFloat64(i, true);
  }
  u64(field: string): bigint {
    const i = this.need(8, field);
    this.pos += 8;
    return this.view.getBigUint64(i, true);
  }
  i64(field: string): bigint {
    const i = this.need(8, field);
    this.pos += 8;
    return this.view.getBigInt64(i, true);
  }

  /**
   * A u64 that must fit a JS number exactly (tensor dims and offsets).
   * Returns -1 if it does not, so callers raise their own specific error.
   */
  u64Safe(field: string): number {
    const i = this.need(8, field);
    this.pos += 8;
    const lo = this.view.getUint32(i, true);
    const hi = this.view.getUint32(i + 4, true);
    // 2^53 = hi of 2^21; anything at or above cannot be represented exactly.
    return hi >= 0x200000 ? -1 : hi * 0x1_0000_0000 + lo;
  }

  /**
   * Reads a u64 count of items, each taking at least `minItemBytes` in the
   * file, and proves the file can hold them before the caller allocates.
   * Beyond `cap` the count is ABSURD whatever the file size (no real file has
   * that many, and JS could not hold them); otherwise, not enough bytes left
   * means the file was cut short, or this count is corrupt.
   */
  count(field: string, minItemBytes: number, cap = MAX_ITEMS): number {
    const at = this.pos;
    const n = this.u64Safe(field);
    if (n < 0 || n > cap) {
      throw this.fail(
        'GGUF_ABSURD_COUNT',
        `count ${n < 0 ? '≥ 2^53' : n} for '${field}' is absurd (limit ${cap})`,
        { offset: at, field, actual: n < 0 ? '≥ 2^53' : n, expected: `≤ ${cap}` },
        'the header is corrupt',
      );
    }
    const needBytes = n * minItemBytes;
    if (needBytes > this.remaining) {
      throw this.fail(
        'GGUF_TRUNCATED',
        `count ${n} for '${field}' needs at least ${needBytes} bytes but only ${this.remaining} are left`,
        { offset: at, field, expected: this.pos + needBytes, actual: this.src.size },
        'the file is truncated (incomplete download?) or this count is corrupt',
      );
    }
    return n;
  }

  /** Moves past `n` bytes (e.g. a string being skipped); GGUF_TRUNCATED if the file ends first. */
  skip(n: number, field: string): void {
    if (n > this.remaining) {
      throw this.fail('GGUF_TRUNCATED', `'${field}' runs ${n - this.remaining} bytes past the end of the file`, {
        offset: this.pos,
        field,
        expected: this.pos + n,
        actual: this.src.size,
      });
    }
    this.pos += n;
  }

  /** Copies the file's bytes [from, to) (already walked, so in bounds) into a new array. */
  copy(from: number, to: number): Uint8Array {
    const bytes = new Uint8Array(to - from);
    this.src.read(from, bytes);
    return bytes;
  }

  /** A GGUF string: u64 byte length + UTF-8 bytes (not NUL-terminated). */
  str(field: string): string {
    const len = this.count(field, 1, MAX_STRING_BYTES);
    if (len === 0) return '';
    if (len > this.chunk) {
      // Rare (chat templates are KBs, not MBs): read it directly, once.
      const bytes = new Uint8Array(len);
      this.src.read(this.pos, bytes);
      this.pos += len;
      return utf8.decode(bytes);
    }
    const i = this.need(len, field);
    this.pos += len;
    return utf8.decode(this.buf.subarray(i, i + len));
  }
}
