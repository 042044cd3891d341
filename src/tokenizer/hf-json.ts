/**
 * The parts of a Hugging Face `tokenizer.json` (and `tokenizer_config.json`)
 * that decide tokenization, read into checked, typed values. Structure, not
 * semantics: from-hf.ts decides which of our tokenizers can reproduce it.
 * Malformed input is TOKENIZER_BAD_VOCAB naming the field; a model type we
 * do not implement (Unigram, WordPiece, WordLevel) is TOKENIZER_UNSUPPORTED.
 */
import { StreamLlmError } from '../errors.js';

/** A tokenizer.json component (normalizer, pre_tokenizer, ...). */
export type Obj = Readonly<Record<string, unknown>>;

export interface HfAddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
}

export interface HfTokenizerJson {
  /** For messages. */
  readonly file: string;
  /** model.vocab: token → id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** model.merges as pairs, in rank order. */
  readonly merges: readonly (readonly [string, string])[];
  readonly byteFallback: boolean;
  readonly ignoreMerges: boolean;
  readonly unkToken: string | undefined;
  readonly added: readonly HfAddedToken[];
  /** The component objects, or undefined when null/absent. */
  readonly normalizer: Obj | undefined;
  readonly preTokenizer: Obj | undefined;
  readonly decoder: Obj | undefined;
  readonly postProcessor: Obj | undefined;
}

/** tokenizer_config.json: special-token texts and add_bos/add_eos, when present. */
export interface HfTokenizerConfig {
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly unkToken?: string;
  readonly padToken?: string;
  readonly addBos?: boolean;
  readonly addEos?: boolean;
}

/** A vocabulary above this is not a tokenizer but a damaged file: bounds the arrays we allocate. */
export const MAX_HF_VOCAB = 1 << 24;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(file: string, field: string, message: string): StreamLlmError {
  return new StreamLlmError('TOKENIZER_BAD_VOCAB', `${file}: ${message}`, { context: { file, field } });
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < MAX_HF_VOCAB;

/**
 * @example
 * const tj = parseHfTokenizerJson(JSON.parse(readFileSync('tokenizer.json', 'utf8')), 'tokenizer.json');
 * tj.vocab.get('Hello');
 */
export function parseHfTokenizerJson(json: unknown, file: string): HfTokenizerJson {
  if (!isObj(json)) throw bad(file, '', 'not a JSON object');
  const model = json['model'];
  if (!isObj(model)) throw bad(file, 'model', "no 'model' object");
  // Older files omit model.type for BPE (it was the only model with merges).
  const type = model['type'] ?? ('merges' in model ? 'BPE' : undefined);
  if (type !== 'BPE') {
    throw new StreamLlmError('TOKENIZER_UNSUPPORTED', `${file}: model type '${String(type)}' is not supported`, {
      context: { file, field: 'model.type', actual: type },
      hint: 'supported: BPE (byte-level, or SentencePiece-style with byte fallback); Unigram and WordPiece are not implemented',
    });
  }
  const rawVocab = model['vocab'];
  if (!isObj(rawVocab)) throw bad(file, 'model.vocab', 'model.vocab is not an object');
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(rawVocab)) {
    if (!isId(id)) throw bad(file, 'model.vocab', `id of ${JSON.stringify(tok)} is not a token id: ${JSON.stringify(id)}`);
    vocab.set(tok, id);
  }
  const rawMerges = model['merges'] ?? [];
  if (!Array.isArray(rawMerges)) throw bad(file, 'model.merges', 'model.merges is not an array');
  const merges = rawMerges.map((m: unknown, i): readonly [string, string] => {
    // "a b" (the classic form; tokens never contain a space) or ["a", "b"] (newer files).
    if (typeof m === 'string') {
      const at = m.indexOf(' ', 1);
      if (at > 0) return [m.slice(0, at), m.slice(at + 1)];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return [m[0], m[1]];
    }
    throw bad(file, 'model.merges', `merge ${i} is neither "a b" nor ["a", "b"]: ${JSON.stringify(m)}`);
  });
  const unk = model['unk_token'];
  const rawAdded = json['added_tokens'] ?? [];
  if (!Array.isArray(rawAdded)) throw bad(file, 'added_tokens', 'added_tokens is not an array');
  const added = rawAdded.map((a: unknown, i): HfAddedToken => {
    if (!isObj(a) || !isId(a['id']) || typeof a['content'] !== 'string' || a['content'].length === 0) {
      throw bad(file, 'added_tokens', `added_tokens[${i}] needs an id and a non-empty content`);
    }
    return { id: a['id'], content: a['content'], special: a['special'] === true };
  });
  const part = (key: string): Obj | undefined => {
    const v = json[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) throw bad(file, key, `${key} is not an object`);
    return v;
  };
  return {
    file,
    vocab,
    merges,
    byteFallback: model['byte_fallback'] === true,
    ignoreMerges: model['ignore_merges'] === true,
    unkToken: typeof unk === 'string' ? unk : undefined,
    added,
    normalizer: part('normalizer'),
    preTokenizer: part('pre_tokenizer'),
    decoder: part('decoder'),
    postProcessor: part('post_processor'),
  };
}

/** A special token in tokenizer_config.json: "text" or { "content": "text", ... }. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObj(v) && typeof v['content'] === 'string') return v['content'];
  return undefined;
}

export function parseHfTokenizerConfig(json: unknown): HfTokenizerConfig {
  if (!isObj(json)) return {};
  const out: { -readonly [K in keyof HfTokenizerConfig]: HfTokenizerConfig[K] } = {};
  const texts = [['bosToken', 'bos_token'], ['eosToken', 'eos_token'], ['unkToken', 'unk_token'], ['padToken', 'pad_token']] as const;
  for (const [k, key] of texts) {
    const t = tokenText(json[key]);
    if (t !== undefined) out[k] = t;
  }
  if (typeof json['add_bos_token'] === 'boolean') out.addBos = json['add_bos_token'];
  if (typeof json['add_eos_token'] === 'boolean') out.addEos = json['add_eos_token'];
  return out;
}

/**
 * What a TemplateProcessing post-processor adds around a single sequence:
 * the special-token texts before and after `$A` (also inside a Sequence).
 */
export function templateSpecials(pp: Obj | undefined): { first?: string; last?: string } {
  if (pp === undefined) return {};
  if (pp['type'] === 'Sequence' && Array.isArray(pp['processors'])) {
    for (const p of pp['processors'] as unknown[]) {
      if (isObj(p) && p['type'] === 'TemplateProcessing') return templateSpecials(p);
    }
    return {};
  }
  if (pp['type'] !== 'TemplateProcessing' || !Array.isArray(pp['single'])) return {};
  const single = pp['single'] as unknown[];
  const special = (item: unknown): string | undefined => {
    const s = isObj(item) ? item['SpecialToken'] : undefined;
    return isObj(s) && typeof s['id'] === 'string' ? s['id'] : undefined;
  };
  const first = special(single[0]);
  const last = single.length > 1 ? special(single[single.length - 1]) : undefined;
  return { ...(first !== undefined ? { first } : {}), ...(last !== undefined ? { last } : {}) };
}

/** TOKENIZER_UNSUPPORTED: a valid tokenizer.json our tokenizers cannot reproduce exactly. */
export function hfUnsupported(file: string, field: string, message: string, hint?: string): StreamLlmError {
  return new StreamLlmError('TOKENIZER_UNSUPPORTED', `${file}: ${message}`, { context: { file, field }, ...(hint !== undefined ? { hint } : {}) });
}

/** Component lists, with a Sequence flattened ("normalizers" / "pretokenizers" / "decoders"). */
export function parts(o: Obj | undefined, listKey: string, file = 'tokenizer.json'): Obj[] {
  if (o === undefined) return [];
  if (o['type'] !== 'Sequence') return [o];
  const list = o[listKey];
  if (!Array.isArray(list) || !list.every(isObj)) throw bad(file, listKey, `a Sequence needs "${listKey}": an array of objects`);
  return list;
}

/** Tokens by id (padded, added tokens applied), llama.cpp token types, and the text → id map. */
export interface HfTokenTable {
  readonly tokens: string[];
  readonly types: Int32Array;
  readonly ids: Map<string, number>;
  /** End-of-generation ids recognized by their text (token-heuristics.ts). */
  readonly eogIds: number[];
}

/** Special ids and add_bos/add_eos as the files decide them (undefined: the family default). */
export interface HfSpecials {
  readonly bos?: number;
  readonly eos?: number;
  readonly unk?: number;
  readonly pad?: number;
  readonly addBos?: boolean;
  readonly addEos?: boolean;
}
