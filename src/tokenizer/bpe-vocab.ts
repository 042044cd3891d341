/**
 * The normalized byte-level BPE vocabulary. GGUF metadata (and, later,
 * Hugging Face tokenizer.json) map into this one shape at the loader
 * boundary; `BpeTokenizer` never sees a raw dictionary.
 */
import { validateBaseVocab } from './vocab-tokenizer.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import { ggufArray, K, specialTokenEntries, type SpecialTokens } from './gguf-meta.js';

export interface BpeVocab extends SpecialTokens {
  /** Token strings by id, in byte-level form ('Ġworld' for ' world'). */
  readonly tokens: readonly string[];
  /** llama.cpp token types (see `TokenType`). (vocabSize) */
  readonly types: Int32Array;
  /** Merge rules "left right"; a lower index merges first. */
  readonly merges: readonly string[];
  /** `tokenizer.ggml.pre`: which pre-tokenizer splits text into words ('default' when absent). */
  readonly pre: string;
  /** Extra end-of-generation ids besides `eos` (end-of-turn tokens such as `<|im_end|>`). */
  readonly eogIds?: readonly number[];
}

/**
 * Checks lengths, special ids and duplicate tokens; throws
 * TOKENIZER_BAD_VOCAB naming the field. Merges are not checked: like
 * llama.cpp we ignore rules that cannot apply. Returns `v` for chaining.
 *
 * @example
 *   const vocab = validateBpeVocab({ tokens, types, merges, pre: 'gpt-2', bos: 50256, eos: 50256,
 *     addBos: false, addEos: false });
 */
export function validateBpeVocab(v: BpeVocab): BpeVocab {
  validateBaseVocab(v);
  return v;
}

/**
 * The `tokenizer.ggml.*` metadata that describes `v` to llama.cpp and to our
 * own GGUF loader, as `[key, entry]` pairs in a stable order (the shape
 * `writeGguf` takes). `eogIds` has no GGUF key: both llama.cpp and we derive
 * end-of-turn tokens from their text.
 *
 * @example
 *   writeGguf(path, { metadata: [...archMetadata, ...bpeVocabToGgufMetadata(vocab)], tensors });
 */
export function bpeVocabToGgufMetadata(v: BpeVocab): [string, GgufEntry][] {
  validateBpeVocab(v);
  return [
    [K.model, { type: GgufValueType.STRING, value: 'gpt2' }],
    [K.pre, { type: GgufValueType.STRING, value: v.pre }],
    [K.tokens, ggufArray(GgufValueType.STRING, v.tokens)],
    [K.types, ggufArray(GgufValueType.INT32, Array.from(v.types))],
    [K.merges, ggufArray(GgufValueType.STRING, v.merges)],
    ...specialTokenEntries(v),
  ];
}
