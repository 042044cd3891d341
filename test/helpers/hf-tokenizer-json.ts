/**
 * tokenizer.json files built from the vocabulary fixtures (GGUF), shaped as
 * transformers writes them, so the HF loader can be compared with the
 * GGUF-embedded tokenizer on the same vocabulary:
 *  - SentencePiece (Llama): a BPE model with byte_fallback whose merges are
 *    every split of every piece into two pieces, ordered by the piece's
 *    score — how transformers converts a SentencePiece model;
 *  - byte-level BPE: vocab and merges as stored, control / user-defined
 *    tokens as added_tokens, and the family's pre_tokenizer.
 */
import { GgufFile, isGgufArray } from '../../src/formats/gguf/index.js';
import { TokenType } from '../../src/tokenizer/types.js';

export interface HfTokenizerFixture {
  readonly tokenizer: Record<string, unknown>;
  readonly config: Record<string, unknown>;
}

function read(path: string) {
  const f = GgufFile.open(path);
  try {
    const arr = (k: string) => {
      const v = f.metadata.get(k)?.value;
      return isGgufArray(v) ? (v.items as unknown[]) : undefined;
    };
    const num = (k: string) => (f.metadata.has(k) ? f.getNumber(k) : undefined);
    return {
      tokens: arr('tokenizer.ggml.tokens') as string[],
      scores: arr('tokenizer.ggml.scores') as number[] | undefined,
      types: arr('tokenizer.ggml.token_type') as number[],
      merges: arr('tokenizer.ggml.merges') as string[] | undefined,
      bos: num('tokenizer.ggml.bos_token_id'),
      eos: num('tokenizer.ggml.eos_token_id'),
      unk: num('tokenizer.ggml.unknown_token_id'),
    };
  } finally {
    f.close();
  }
}

const added = (tokens: string[], types: number[]) =>
  tokens.flatMap((content, id) => {
    const t = types[id];
    if (t !== TokenType.CONTROL && t !== TokenType.UNKNOWN && t !== TokenType.USER_DEFINED) return [];
    const special = t !== TokenType.USER_DEFINED;
    return [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special }];
  });

export function spmTokenizerJson(path: string): HfTokenizerFixture {
  const v = read(path);
  const ids = new Map(v.tokens.map((t, i) => [t, i]));
  const order = v.tokens.map((_, i) => i).sort((a, b) => v.scores![b]! - v.scores![a]! || a - b);
  const merges: [string, string][] = [];
  for (const id of order) {
    const piece = v.tokens[id]!;
    const local: [string, string][] = [];
    const cps = Array.from(piece);
    for (let i = 1; i < cps.length; i++) {
      const l = cps.slice(0, i).join('');
      const r = cps.slice(i).join('');
      if (ids.has(l) && ids.has(r)) local.push([l, r]);
    }
    local.sort((x, y) => ids.get(x[0])! - ids.get(y[0])! || ids.get(x[1])! - ids.get(y[1])!);
    merges.push(...local);
  }
  const bos = v.tokens[v.bos!]!;
  return {
    tokenizer: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added(v.tokens, v.types),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [],
        special_tokens: { [bos]: { id: bos, ids: [v.bos], tokens: [bos] } },
      },
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: {
        type: 'BPE', dropout: null, unk_token: v.tokens[v.unk!], continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: true, byte_fallback: true, ignore_merges: false,
        vocab: Object.fromEntries(v.tokens.map((t, i) => [t, i])),
        merges: merges.map(([l, r]) => `${l} ${r}`),
      },
    },
    config: { add_bos_token: true, add_eos_token: false, bos_token: bos, eos_token: v.tokens[v.eos!], unk_token: v.tokens[v.unk!] },
  };
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

/** Pre-tokenizers as the families ship them. */
export const PRE_TOKENIZERS = {
  gpt2: BYTE_LEVEL,
  falcon: {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Punctuation', behavior: 'Contiguous' },
      BYTE_LEVEL,
      { type: 'Digits', individual_digits: false },
      { type: 'Split', pattern: { Regex: '[0-9][0-9][0-9]' }, behavior: 'Isolated', invert: false },
    ],
  },
  starcoder: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, BYTE_LEVEL] },
} as const;

export function bpeTokenizerJson(path: string, pre: object, opts: { normalizer?: object } = {}): HfTokenizerFixture {
  const v = read(path);
  const special = new Set(added(v.tokens, v.types).map((a) => a.id));
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => {
    if (!special.has(i)) vocab[t] = i;
  });
  return {
    tokenizer: {
      version: '1.0',
      added_tokens: added(v.tokens, v.types),
      normalizer: opts.normalizer ?? null,
      pre_tokenizer: pre,
      post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: v.merges },
    },
    config: {
      add_prefix_space: false,
      ...(v.bos !== undefined ? { bos_token: v.tokens[v.bos] } : {}),
      ...(v.eos !== undefined ? { eos_token: v.tokens[v.eos] } : {}),
      ...(v.unk !== undefined ? { unk_token: v.tokens[v.unk] } : {}),
    },
  };
}
