/**
 * Typed access to GGUF `tokenizer.ggml.*` metadata, shared by the
 * SentencePiece and byte-level BPE loaders. Every accessor validates the
 * value's type and throws TOKENIZER_BAD_VOCAB naming the key, so a loader
 * never touches a raw `GgufValue`.
 */
import { StreamLlmError } from '../errors.js';
import { GgufValueType, isGgufArray, type GgufEntry, type GgufValue } from '../formats/gguf/types.js';

/** What is needed from a GGUF file: `GgufFile` fits, and so does a bare metadata map. */
export interface GgufMetadataSource {
  readonly metadata: ReadonlyMap<string, GgufEntry>;
  /** For error messages. */
  readonly name?: string;
}

export const K = {
  model: 'tokenizer.ggml.model',
  pre: 'tokenizer.ggml.pre',
  tokens: 'tokenizer.ggml.tokens',
  scores: 'tokenizer.ggml.scores',
  types: 'tokenizer.ggml.token_type',
  merges: 'tokenizer.ggml.merges',
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  unk: 'tokenizer.ggml.unknown_token_id',
  pad: 'tokenizer.ggml.padding_token_id',
  eot: 'tokenizer.ggml.eot_token_id',
  eom: 'tokenizer.ggml.eom_token_id',
  addBos: 'tokenizer.ggml.add_bos_token',
  addEos: 'tokenizer.ggml.add_eos_token',
  addSpacePrefix: 'tokenizer.ggml.add_space_prefix',
  name: 'general.name',
} as const;

/** A GGUF array value (the vocabulary writers' tokens, scores, types, merges). */
export function ggufArray(itemType: GgufValueType, items: readonly (string | number)[]): GgufEntry {
  return { type: GgufValueType.ARRAY, value: { itemType, items } };
}

/** The special-token ids a vocabulary may set, and whether encoding adds BOS/EOS (SpmVocab and BpeVocab share these). */
export interface SpecialTokens {
  readonly bos?: number | undefined;
  readonly eos?: number | undefined;
  readonly unk?: number | undefined;
  readonly pad?: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
}

/** The special-token ids (those set) and the add-BOS/EOS flags, as both vocabulary writers emit them. */
export function specialTokenEntries(v: SpecialTokens): [string, GgufEntry][] {
  const out: [string, GgufEntry][] = [];
  for (const [key, id] of [[K.bos, v.bos], [K.eos, v.eos], [K.unk, v.unk], [K.pad, v.pad]] as const) {
    if (id !== undefined) out.push([key, { type: GgufValueType.UINT32, value: id }]);
  }
  out.push([K.addBos, { type: GgufValueType.BOOL, value: v.addBos }], [K.addEos, { type: GgufValueType.BOOL, value: v.addEos }]);
  return out;
}

/** Families llama.cpp knows by `tokenizer.ggml.model` that we do not implement. */
const LATER: Readonly<Record<string, string>> = {
  bert: 'WordPiece (BERT) is not implemented',
  t5: 'Unigram (T5) is not implemented',
  rwkv: 'the RWKV tokenizer is not implemented',
  plamo2: 'the PLaMo-2 tokenizer is not implemented',
};

const FAMILY: Readonly<Record<'llama' | 'gpt2', string>> = { llama: 'SentencePiece BPE', gpt2: 'byte-level BPE' };

export class Meta {
  constructor(private readonly src: GgufMetadataSource) {}

  fail(code: 'TOKENIZER_MISSING' | 'TOKENIZER_BAD_VOCAB', key: string, message: string, extra: Record<string, unknown> = {}, hint?: string): StreamLlmError {
    const context = { file: this.src.name, field: key, ...extra };
    return new StreamLlmError(code, message, hint === undefined ? { context } : { context, hint });
  }

  /**
   * Checks `tokenizer.ggml.model`: TOKENIZER_MISSING when absent (no embedded
   * tokenizer), TOKENIZER_UNSUPPORTED when it is another family.
   */
  requireModel(expected: 'llama' | 'gpt2'): void {
    const model = this.string(K.model);
    if (model === undefined) {
      throw this.fail('TOKENIZER_MISSING', K.model, 'this GGUF has no embedded tokenizer', {},
        "it lacks 'tokenizer.ggml.model'; re-convert the model with its tokenizer, or use a GGUF that includes one");
    }
    if (model === expected) return;
    const known = model === 'llama' || model === 'gpt2';
    const why = known ? ` is ${FAMILY[model]}, not ${FAMILY[expected]}` : `: ${LATER[model] ?? `tokenizer family '${model}' is not known`}`;
    throw new StreamLlmError('TOKENIZER_UNSUPPORTED', `tokenizer.ggml.model '${model}'${why}`, {
      context: { file: this.src.name, field: K.model, actual: model, expected: known ? expected : ['llama', 'gpt2'] },
      hint: known
        ? 'use tokenizerFromGguf, which picks the loader from tokenizer.ggml.model'
        : "supported: 'llama' (SentencePiece BPE) and 'gpt2' (byte-level BPE)",
    });
  }

  entry(key: string): GgufEntry | undefined {
    return this.src.metadata.get(key);
  }

  string(key: string): string | undefined {
    const e = this.entry(key);
    if (e === undefined) return undefined;
    if (typeof e.value !== 'string') throw this.fail('TOKENIZER_BAD_VOCAB', key, `'${key}' must be a string`);
    return e.value;
  }

  bool(key: string, fallback: boolean): boolean {
    const e = this.entry(key);
    if (e === undefined) return fallback;
    if (typeof e.value !== 'boolean') throw this.fail('TOKENIZER_BAD_VOCAB', key, `'${key}' must be a bool`);
    return e.value;
  }

  /**
   * An optional token id, checked against the vocabulary size. (llama.cpp
   * warns and ignores an out-of-range id; a wrong BOS/EOS silently breaks
   * generation, so we refuse the file instead.)
   */
  id(key: string, n: number): number | undefined {
    const e = this.entry(key);
    if (e === undefined) return undefined;
    const v = toNumber(e.value);
    if (v === undefined || !Number.isInteger(v)) throw this.fail('TOKENIZER_BAD_VOCAB', key, `'${key}' must be an integer token id`);
    if (v < 0 || v >= n) {
      throw this.fail('TOKENIZER_BAD_VOCAB', key, `'${key}' = ${v} is outside the vocabulary (size ${n})`, { actual: v, expected: `0..${n - 1}` });
    }
    return v;
  }

  array(key: string, itemTypes: readonly GgufValueType[]): readonly GgufValue[] | undefined {
    const e = this.entry(key);
    if (e === undefined) return undefined;
    if (!isGgufArray(e.value) || !itemTypes.includes(e.value.itemType)) {
      const want = itemTypes.map((t) => GgufValueType[t]).join(' or ');
      throw this.fail('TOKENIZER_BAD_VOCAB', key, `'${key}' must be an array of ${want}`);
    }
    return e.value.items;
  }

  /** A numeric per-token array of at least `n` entries (llama.cpp ignores extras). */
  perToken(key: string, n: number, itemTypes: readonly GgufValueType[]): readonly GgufValue[] | undefined {
    const items = this.array(key, itemTypes);
    if (items !== undefined && items.length < n) {
      throw this.fail('TOKENIZER_BAD_VOCAB', key, `'${key}' has ${items.length} entries for ${n} tokens`, { expected: n, actual: items.length });
    }
    return items;
  }

  /** End-of-generation ids: text-inferred ones plus the eot/eom keys, minus EOS (kept separately). */
  eogIds(inferred: readonly number[], n: number, eos: number | undefined): number[] {
    const eog = new Set<number>(inferred);
    for (const key of [K.eot, K.eom]) {
      const id = this.id(key, n);
      if (id !== undefined) eog.add(id);
    }
    if (eos !== undefined) eog.delete(eos);
    return [...eog].sort((a, b) => a - b);
  }
}

function toNumber(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  return undefined;
}
