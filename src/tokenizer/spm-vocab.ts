/**
 * The normalized SentencePiece vocabulary. GGUF metadata and llama2.c's
 * tokenizer.bin are both mapped into this one shape at the loader boundary;
 * `SpmTokenizer` never sees a raw dictionary.
 */
import { validateBaseVocab } from './vocab-tokenizer.js';
import { StreamLlmError } from '../errors.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import { ggufArray, K, specialTokenEntries, type SpecialTokens } from './gguf-meta.js';
import { TokenType } from './types.js';

/** SentencePiece's stand-in for a space inside pieces (U+2581). */
export const SPM_SPACE = '\u2581';

export interface SpmVocab extends SpecialTokens {
  /** Piece strings by id, spaces written as `spaceChar`. */
  readonly tokens: readonly string[];
  /** Merge priority: a higher score merges first. (vocabSize) */
  readonly scores: Float32Array;
  /** llama.cpp token types (see `TokenType`). (vocabSize) */
  readonly types: Int32Array;
  /** Prepend a space to text before tokenizing (and drop it when decoding). */
  readonly addSpacePrefix: boolean;
  /** Characters with no token become `<0xNN>` byte tokens instead of `unk`. */
  readonly byteFallback: boolean;
  /** How spaces are written in `tokens`; '▁' unless a source says otherwise. */
  readonly spaceChar?: string;
  /** Extra end-of-generation ids besides `eos` (end-of-turn tokens such as `<|end|>`). */
  readonly eogIds?: readonly number[];
  /** Ids whose special-token match swallows whitespace before / after it (Phi-3). */
  readonly lstripIds?: readonly number[];
  readonly rstripIds?: readonly number[];
}

function bad(message: string, context: Record<string, unknown>, hint?: string): StreamLlmError {
  return new StreamLlmError('TOKENIZER_BAD_VOCAB', message, hint === undefined ? { context } : { context, hint });
}

/**
 * Checks lengths, special ids and duplicates; throws TOKENIZER_BAD_VOCAB with
 * the offending field. Returns the vocabulary unchanged for chaining.
 *
 * @example
 *   const vocab = validateSpmVocab({ tokens, scores, types, bos: 1, eos: 2, unk: 0,
 *     addBos: true, addEos: false, addSpacePrefix: true, byteFallback: true });
 */
export function validateSpmVocab(v: SpmVocab): SpmVocab {
  const n = v.tokens.length;
  if (n > 0 && v.scores.length !== n) throw bad(`scores has ${v.scores.length} entries for ${n} tokens`, { field: 'scores', expected: n, actual: v.scores.length });
  const extra: [string, number][] = [];
  for (const id of v.lstripIds ?? []) extra.push(['lstripIds', id]);
  for (const id of v.rstripIds ?? []) extra.push(['rstripIds', id]);
  validateBaseVocab(v, extra);
  if (v.spaceChar !== undefined && v.spaceChar.length === 0) throw bad('spaceChar is empty', { field: 'spaceChar' });
  return v;
}

/**
 * The `tokenizer.ggml.*` metadata that describes `v` to llama.cpp and to our
 * own GGUF loader, as `[key, entry]` pairs in a stable order — the shape
 * `encodeGguf`/`writeGguf` take for `metadata`. Pieces are written with '▁'
 * for spaces whatever `spaceChar` the vocabulary uses; `eogIds`,
 * `lstripIds` and `rstripIds` have no GGUF key (llama.cpp derives them from
 * token texts and the model name) and are not written.
 *
 * @example
 *   const vocab = readLlama2cTokenizer('tok512.bin', { vocabSize: 512 });
 *   writeGguf(path, { metadata: [...archMetadata, ...spmVocabToGgufMetadata(vocab)], tensors });
 */
export function spmVocabToGgufMetadata(v: SpmVocab): [string, GgufEntry][] {
  validateSpmVocab(v);
  const space = v.spaceChar ?? SPM_SPACE;
  const tokens = space === SPM_SPACE ? v.tokens.slice() : v.tokens.map((t) => t.split(space).join(SPM_SPACE));
  return [
    [K.model, { type: GgufValueType.STRING, value: 'llama' }],
    [K.pre, { type: GgufValueType.STRING, value: 'default' }],
    [K.tokens, ggufArray(GgufValueType.STRING, tokens)],
    [K.scores, ggufArray(GgufValueType.FLOAT32, Array.from(v.scores))],
    [K.types, ggufArray(GgufValueType.INT32, Array.from(v.types))],
    ...specialTokenEntries(v),
    [K.addSpacePrefix, { type: GgufValueType.BOOL, value: v.addSpacePrefix }],
  ];
}

/** True when `types` marks at least one byte token, i.e. the vocabulary can fall back to bytes. */
export function hasByteTokens(types: Int32Array): boolean {
  return types.includes(TokenType.BYTE);
}
