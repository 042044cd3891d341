/**
 * Builds a tokenizer from GGUF `tokenizer.ggml.*` metadata. Key names,
 * defaults and the text / model-name heuristics (token-heuristics.ts, Phi-3
 * rstrip) follow llama.cpp's `llama_vocab::impl::load`, so a GGUF tokenizes
 * here as it does there.
 */
import { StreamLlmError } from '../errors.js';
import { GgufValueType, isGgufArray, type GgufEntry, type GgufValue } from '../formats/gguf/types.js';
import { SpmTokenizer } from './spm.js';
import { inferTokenRoles } from './token-heuristics.js';
import { hasByteTokens, validateSpmVocab, type SpmVocab } from './spm-vocab.js';
import { TokenType, type Tokenizer } from './types.js';

/** What is needed from a GGUF file: `GgufFile` fits, and so does a bare metadata map. */
export interface GgufMetadataSource {
  readonly metadata: ReadonlyMap<string, GgufEntry>;
  /** For error messages. */
  readonly name?: string;
}

const K = {
  model: 'tokenizer.ggml.model',
  tokens: 'tokenizer.ggml.tokens',
  scores: 'tokenizer.ggml.scores',
  types: 'tokenizer.ggml.token_type',
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

/** Families llama.cpp knows by `tokenizer.ggml.model`; only 'llama' is implemented so far. */
const LATER: Readonly<Record<string, string>> = {
  gpt2: 'byte-level BPE (GPT-2, Llama 3, Qwen, ...) arrives in a later release',
  bert: 'WordPiece (BERT) is not implemented',
  t5: 'Unigram (T5) is not implemented',
  rwkv: 'the RWKV tokenizer is not implemented',
  plamo2: 'the PLaMo-2 tokenizer is not implemented',
};

class Meta {
  constructor(private readonly src: GgufMetadataSource) {}

  fail(code: 'TOKENIZER_MISSING' | 'TOKENIZER_BAD_VOCAB', key: string, message: string, extra: Record<string, unknown> = {}, hint?: string): StreamLlmError {
    const context = { file: this.src.name, field: key, ...extra };
    return new StreamLlmError(code, message, hint === undefined ? { context } : { context, hint });
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
}

function toNumber(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  return undefined;
}

/**
 * Reads and validates an SPM vocabulary. Throws TOKENIZER_MISSING when the
 * file has no tokenizer, TOKENIZER_UNSUPPORTED for other families and
 * TOKENIZER_BAD_VOCAB for malformed metadata.
 *
 * @example
 *   using f = GgufFile.open('llama-2-7b.Q4_0.gguf');
 *   const vocab = spmVocabFromGguf(f);   // 32000 tokens, bos 1, eos 2
 */
export function spmVocabFromGguf(file: GgufMetadataSource): SpmVocab {
  const m = new Meta(file);
  const model = m.string(K.model);
  if (model === undefined) {
    throw m.fail('TOKENIZER_MISSING', K.model, 'this GGUF has no embedded tokenizer', {},
      "it lacks 'tokenizer.ggml.model'; re-convert the model with its tokenizer, or use a GGUF that includes one");
  }
  if (model !== 'llama') {
    const why = LATER[model] ?? `tokenizer family '${model}' is not known`;
    throw new StreamLlmError('TOKENIZER_UNSUPPORTED', `tokenizer.ggml.model '${model}': ${why}`, {
      context: { file: file.name, field: K.model, actual: model, expected: 'llama' },
      hint: 'only SentencePiece-BPE vocabularies (tokenizer.ggml.model = llama) are supported for now',
    });
  }

  const tokenItems = m.array(K.tokens, [GgufValueType.STRING]);
  if (tokenItems === undefined) {
    throw m.fail('TOKENIZER_MISSING', K.tokens, "tokenizer.ggml.model is 'llama' but the token list is missing", {},
      'the file was written by a broken converter; re-convert it');
  }
  const tokens = tokenItems as readonly string[];
  const n = tokens.length;

  // Scores may be float32 or int32; absent means all 0 (llama.cpp).
  const scores = new Float32Array(n);
  const scoreItems = m.perToken(K.scores, n, [GgufValueType.FLOAT32, GgufValueType.INT32]);
  if (scoreItems !== undefined) for (let i = 0; i < n; i++) scores[i] = scoreItems[i] as number;

  // Types default to NORMAL: then `<0xNN>` pieces render as their text, as in llama.cpp.
  const fileTypes = new Int32Array(n).fill(TokenType.NORMAL);
  const typeItems = m.perToken(K.types, n, [GgufValueType.INT32]);
  if (typeItems !== undefined) for (let i = 0; i < n; i++) fileTypes[i] = typeItems[i] as number;
  const { types, eogIds } = inferTokenRoles(tokens, fileTypes);

  const eos = m.id(K.eos, n);
  const eog = new Set<number>(eogIds);
  for (const key of [K.eot, K.eom]) {
    const id = m.id(key, n);
    if (id !== undefined) eog.add(id);
  }
  if (eos !== undefined) eog.delete(eos);

  const vocab: SpmVocab = {
    tokens,
    scores,
    types,
    bos: m.id(K.bos, n),
    eos,
    unk: m.id(K.unk, n),
    pad: m.id(K.pad, n),
    addBos: m.bool(K.addBos, true),
    addEos: m.bool(K.addEos, false),
    addSpacePrefix: m.bool(K.addSpacePrefix, true),
    byteFallback: hasByteTokens(types),
    eogIds: [...eog].sort((a, b) => a - b),
    ...phi3Strip(m.string(K.name) ?? '', tokens, types),
  };
  return validateSpmVocab(vocab);
}

/**
 * llama.cpp marks Phi-3's special tokens rstrip (whitespace after them is
 * dropped), recognising the model by name because GGUF has no per-token
 * attribute for it. `<unk>`, `<s>` and `<|endoftext|>` are exempt, `</s>` is
 * included whatever its type.
 */
function phi3Strip(name: string, tokens: readonly string[], types: Int32Array): Pick<SpmVocab, 'rstripIds'> {
  const lower = name.toLowerCase();
  if (!lower.includes('phi-3') && !lower.includes('phi3')) return {};
  const exempt = new Set(['<unk>', '<s>', '<|endoftext|>']);
  const ids: number[] = [];
  tokens.forEach((t, id) => {
    const ty = types[id];
    const special = ty === TokenType.CONTROL || ty === TokenType.UNKNOWN || ty === TokenType.USER_DEFINED;
    if ((special || t === '</s>') && !exempt.has(t)) ids.push(id);
  });
  return { rstripIds: ids };
}

/**
 * The tokenizer a GGUF file describes.
 *
 * @example
 *   using f = GgufFile.open('model.gguf');
 *   const tok = tokenizerFromGguf(f);
 *   tok.encode('Hello world');   // [1, 15043, 3186]
 */
export function tokenizerFromGguf(file: GgufMetadataSource): Tokenizer {
  return new SpmTokenizer(spmVocabFromGguf(file));
}
