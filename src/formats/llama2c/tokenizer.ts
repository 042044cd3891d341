/**
 * llama2.c's tokenizer.bin (written by its tokenizer.py, read by run.c's
 * build_tokenizer), mapped to the normalized `SpmVocab`.
 *
 * Layout, little endian, no header beyond one int:
 *   i32 max_token_length
 *   per token: f32 score, i32 byte length, that many UTF-8 bytes
 * The token count is not stored (run.c takes it from the checkpoint), so we
 * read to EOF and compare with the expected count when the caller has one.
 *
 * tokenizer.py writes pieces with ' ' where SentencePiece has '▁', and BOS /
 * EOS as '\n<s>\n' / '\n</s>\n'; both are undone here so the vocabulary looks
 * like the GGUF one. run.c hard-codes 0 = unk, 1 = BOS, 2 = EOS and byte
 * fallback as id = byte + 3, i.e. `<0xNN>` pieces at 3..258.
 */
import { StreamLlmError } from '../../errors.js';
import { SPM_SPACE, validateSpmVocab, type SpmVocab } from '../../tokenizer/spm-vocab.js';
import { TokenType } from '../../tokenizer/types.js';
import { fileSource } from '../gguf/source.js';

/** No real piece is anywhere near this long; a larger length means a corrupt file. */
const MAX_PIECE_BYTES = 1 << 16;
/** Bigger than any tokenizer.bin (a 256k vocabulary is a few MB); stops absurd reads. */
const MAX_FILE_BYTES = 1 << 28;
const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;
const FIXED: readonly [string, number][] = [['<unk>', TokenType.UNKNOWN], ['<s>', TokenType.CONTROL], ['</s>', TokenType.CONTROL]];

export interface Llama2cTokenizerOptions {
  /** The checkpoint's vocab_size; a different token count is LLAMA2C_BAD_TOKENIZER. */
  vocabSize?: number;
  /** For error messages. */
  name?: string;
}

function bad(name: string, message: string, offset: number, extra: Record<string, unknown> = {}): StreamLlmError {
  return new StreamLlmError('LLAMA2C_BAD_TOKENIZER', message, {
    context: { file: name, offset, ...extra },
    hint: 'tokenizer.bin must come from llama2.c tokenizer.py (or export.py) for the same model',
  });
}

/**
 * Parses tokenizer.bin bytes.
 *
 * @example
 *   const vocab = parseLlama2cTokenizer(readFileSync('tok512.bin'), { vocabSize: 512 });
 *   const tok = new SpmTokenizer(vocab);
 */
export function parseLlama2cTokenizer(bytes: Uint8Array, opts: Llama2cTokenizerOptions = {}): SpmVocab {
  const name = opts.name ?? '<memory>';
  const expected = opts.vocabSize;
  if (expected !== undefined && !(Number.isInteger(expected) && expected >= 3)) {
    throw new StreamLlmError('BAD_ARGUMENT', `vocabSize must be an integer >= 3, got ${expected}`, { context: { field: 'vocabSize' } });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  if (bytes.length < 4) throw bad(name, `file is ${bytes.length} bytes, too short for the max_token_length header`, 0);
  const maxLen = view.getInt32(0, true);
  if (maxLen <= 0 || maxLen > MAX_PIECE_BYTES) {
    throw bad(name, `max_token_length ${maxLen} is absurd`, 0, { field: 'max_token_length', actual: maxLen });
  }

  const tokens: string[] = [];
  const scores: number[] = [];
  let off = 4;
  while (off < bytes.length) {
    const id = tokens.length;
    if (expected !== undefined && id >= expected) {
      throw bad(name, `more than the expected ${expected} tokens (data continues at this offset)`, off, { expected });
    }
    if (bytes.length - off < 8) throw bad(name, `token ${id} is truncated: its score and length need 8 bytes, ${bytes.length - off} left`, off, { token: id });
    const score = view.getFloat32(off, true);
    const len = view.getInt32(off + 4, true);
    if (len < 0 || len > MAX_PIECE_BYTES) throw bad(name, `token ${id} has an absurd length ${len}`, off + 4, { token: id, actual: len });
    off += 8;
    if (bytes.length - off < len) throw bad(name, `token ${id} is truncated: ${len} bytes declared, ${bytes.length - off} left`, off, { token: id });
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(off, off + len));
    } catch (err) {
      throw bad(name, `token ${id} is not valid UTF-8`, off, { token: id, cause: String(err) });
    }
    off += len;
    tokens.push(text.replaceAll(' ', SPM_SPACE));
    scores.push(score);
  }
  if (expected !== undefined && tokens.length !== expected) {
    throw bad(name, `file holds ${tokens.length} tokens, the model expects ${expected}`, off, { expected, actual: tokens.length });
  }
  if (tokens.length < 3) throw bad(name, `file holds ${tokens.length} tokens; run.c needs at least <unk>, <s>, </s>`, off, { actual: tokens.length });

  const types = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) types[i] = BYTE_PIECE.test(tokens[i]!) ? TokenType.BYTE : TokenType.NORMAL;
  FIXED.forEach(([text, type], id) => {
    tokens[id] = text;
    types[id] = type;
  });

  return validateSpmVocab({
    tokens,
    scores: Float32Array.from(scores),
    types,
    unk: 0,
    bos: 1,
    eos: 2,
    addBos: true,
    addEos: false,
    addSpacePrefix: true, // run.c's "add_dummy_prefix"
    byteFallback: true,
  });
}

/**
 * Reads and parses a tokenizer.bin file. FILE_NOT_FOUND / FILE_READ for I/O
 * problems, LLAMA2C_BAD_TOKENIZER (with the byte offset) for bad contents.
 *
 * @example
 *   const tok = new SpmTokenizer(readLlama2cTokenizer('tokenizer.bin', { vocabSize: config.vocabSize }));
 */
export function readLlama2cTokenizer(path: string, opts: Llama2cTokenizerOptions = {}): SpmVocab {
  const src = fileSource(path);
  try {
    if (src.size > MAX_FILE_BYTES) throw bad(path, `file is ${src.size} bytes, far too large for a tokenizer`, 0, { actual: src.size });
    const bytes = new Uint8Array(src.size);
    src.read(0, bytes);
    return parseLlama2cTokenizer(bytes, { ...opts, name: opts.name ?? path });
  } finally {
    src.close();
  }
}
