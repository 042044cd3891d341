/**
 * The normalized byte-level BPE vocabulary. GGUF metadata (and, later,
 * Hugging Face tokenizer.json) map into this one shape at the loader
 * boundary; `BpeTokenizer` never sees a raw dictionary.
 */
import { StreamLlmError } from '../errors.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';

export interface BpeVocab {
  /** Token strings by id, in byte-level form ('Ġworld' for ' world'). */
  readonly tokens: readonly string[];
  /** llama.cpp token types (see `TokenType`). (vocabSize) */
  readonly types: Int32Array;
  /** Merge rules "left right"; a lower index merges first. */
  readonly merges: readonly string[];
  /** `tokenizer.ggml.pre`: which pre-tokenizer splits text into words ('default' when absent). */
  readonly pre: string;
  readonly bos?: number | undefined;
  readonly eos?: number | undefined;
  readonly unk?: number | undefined;
  readonly pad?: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** Extra end-of-generation ids besides `eos` (end-of-turn tokens such as `<|im_end|>`). */
  readonly eogIds?: readonly number[];
}

function bad(message: string, context: Record<string, unknown>, hint?: string): StreamLlmError {
  return new StreamLlmError('TOKENIZER_BAD_VOCAB', message, hint === undefined ? { context } : { context, hint });
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
  const n = v.tokens.length;
  if (n === 0) throw bad('vocabulary is empty', { field: 'tokens' });
  if (v.types.length !== n) throw bad(`token_type has ${v.types.length} entries for ${n} tokens`, { field: 'types', expected: n, actual: v.types.length });
  const ids: [string, number | undefined][] = [['bos', v.bos], ['eos', v.eos], ['unk', v.unk], ['pad', v.pad]];
  for (const id of v.eogIds ?? []) ids.push(['eogIds', id]);
  for (const [field, id] of ids) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < n)) {
      throw bad(`${field} id ${id} is outside the vocabulary (size ${n})`, { field, actual: id, expected: `0..${n - 1}` });
    }
  }
  if (v.addBos && v.bos === undefined) throw bad('add_bos_token is set but there is no BOS id', { field: 'bos' });
  if (v.addEos && v.eos === undefined) throw bad('add_eos_token is set but there is no EOS id', { field: 'eos' });
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = v.tokens[i]!;
    if (t.length === 0) continue; // never matched; the GGUF loader renames them as llama.cpp does
    const prev = seen.get(t);
    if (prev !== undefined) {
      // llama.cpp asserts on this too: one of the two ids could never be produced.
      throw bad(`duplicate token ${JSON.stringify(t)} has ids ${prev} and ${i}`, { field: 'tokens', token: t, ids: [prev, i] },
        'each token must appear once; the converter that wrote this vocabulary is broken');
    }
    seen.set(t, i);
  }
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
  const arr = (itemType: GgufValueType, items: readonly (string | number)[]): GgufEntry => ({
    type: GgufValueType.ARRAY,
    value: { itemType, items },
  });
  const kvs: [string, GgufEntry][] = [
    ['tokenizer.ggml.model', { type: GgufValueType.STRING, value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: GgufValueType.STRING, value: v.pre }],
    ['tokenizer.ggml.tokens', arr(GgufValueType.STRING, v.tokens)],
    ['tokenizer.ggml.token_type', arr(GgufValueType.INT32, Array.from(v.types))],
    ['tokenizer.ggml.merges', arr(GgufValueType.STRING, v.merges)],
  ];
  const ids: [string, number | undefined][] = [
    ['tokenizer.ggml.bos_token_id', v.bos],
    ['tokenizer.ggml.eos_token_id', v.eos],
    ['tokenizer.ggml.unknown_token_id', v.unk],
    ['tokenizer.ggml.padding_token_id', v.pad],
  ];
  for (const [key, id] of ids) if (id !== undefined) kvs.push([key, { type: GgufValueType.UINT32, value: id }]);
  kvs.push(
    ['tokenizer.ggml.add_bos_token', { type: GgufValueType.BOOL, value: v.addBos }],
    ['tokenizer.ggml.add_eos_token', { type: GgufValueType.BOOL, value: v.addEos }],
  );
  return kvs;
}
