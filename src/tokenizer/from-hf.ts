/**
 * Hugging Face `tokenizer.json` (+ tokenizer_config.json) → one of our two
 * tokenizers, or a typed refusal when neither reproduces it exactly:
 * SentencePiece-style files go to SpmTokenizer (hf-spm.ts), byte-level BPE
 * to BpeTokenizer (hf-bpe.ts).
 *
 * Ids and token types follow llama.cpp's converter: added tokens are CONTROL
 * when special (or shaped like `<|...|>`), else USER_DEFINED; ids missing up
 * to the model's vocab_size become UNUSED `[PAD<id>]` tokens. Special ids
 * come from tokenizer_config.json, else the post-processor's template, else
 * config.json's ids; add_bos likewise, else the family default.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StreamLlmError } from '../errors.js';
import type { GgufEntry } from '../formats/gguf/types.js';
import { readJsonFile } from '../formats/json-file.js';
import { BpeTokenizer } from './bpe.js';
import { bpeVocabToGgufMetadata, type BpeVocab } from './bpe-vocab.js';
import { bpeVocabFromHf } from './hf-bpe.js';
import { hfUnsupported as unsupported, parseHfTokenizerConfig, parseHfTokenizerJson, templateSpecials, type HfSpecials, type HfTokenizerJson, type HfTokenTable, type Obj } from './hf-json.js';
import { isSpmStyle, spmVocabFromHf } from './hf-spm.js';
import { SpmTokenizer } from './spm.js';
import { spmVocabToGgufMetadata, SPM_SPACE, type SpmVocab } from './spm-vocab.js';
import { inferTokenRoles } from './token-heuristics.js';
import { TokenType, type Tokenizer } from './types.js';

export interface HfTokenizerFiles {
  /** Parsed tokenizer.json. */
  readonly tokenizer: unknown;
  /** Parsed tokenizer_config.json, when the folder has one. */
  readonly config?: unknown;
  /** For messages. */
  readonly name?: string;
}

export interface HfTokenizerOptions {
  /** The model's vocab_size: ids up to it without a token become `[PAD<id>]`, as llama.cpp's converter writes. */
  readonly vocabSize?: number;
  /** config.json `model_type`: picks the GGUF pre-tokenizer name among equivalent ones (MPT's is 'mpt'). */
  readonly modelType?: string;
  /** config.json bos_token_id / eos_token_id, used when tokenizer_config.json names none. */
  readonly bosId?: number;
  readonly eosId?: number;
}

export type HfVocab = { readonly kind: 'spm'; readonly vocab: SpmVocab } | { readonly kind: 'bpe'; readonly vocab: BpeVocab };

export const HF_TOKENIZER_FILE = 'tokenizer.json';

/**
 * tokenizer.json (+ tokenizer_config.json when present) from a checkpoint
 * folder, or undefined when it has no tokenizer.json. Size-capped reads.
 * @example
 * const files = readHfTokenizerFiles('pythia-160m'); // { tokenizer, config?, name }
 */
export function readHfTokenizerFiles(dir: string): HfTokenizerFiles | undefined {
  const path = join(dir, HF_TOKENIZER_FILE);
  if (!existsSync(path)) return undefined;
  const opts = { maxBytes: 512 * 2 ** 20, code: 'TOKENIZER_BAD_VOCAB' } as const;
  const cfgPath = join(dir, 'tokenizer_config.json');
  return {
    tokenizer: readJsonFile(path, opts),
    ...(existsSync(cfgPath) ? { config: readJsonFile(cfgPath, opts) } : {}),
    name: path,
  };
}

/**
 * The vocabulary, normalized for our tokenizers and the GGUF writer.
 * @example
 * const v = vocabFromHf({ tokenizer: JSON.parse(text) }, { vocabSize: 32000 });
 * v.kind; // 'spm'
 */
export function vocabFromHf(files: HfTokenizerFiles, opts: HfTokenizerOptions = {}): HfVocab {
  const file = files.name ?? 'tokenizer.json';
  const tj = parseHfTokenizerJson(files.tokenizer, file);
  const model = (files.tokenizer as Obj)['model'] as Obj;
  for (const key of ['dropout', 'continuing_subword_prefix', 'end_of_word_suffix']) {
    const v = model[key];
    if (v !== undefined && v !== null && v !== '' && v !== 0) throw unsupported(file, `model.${key}`, `BPE option ${key} = ${JSON.stringify(v)} is not supported`);
  }
  const spm = isSpmStyle(tj);
  if (spm && !tj.byteFallback) throw unsupported(file, 'model.byte_fallback', 'SentencePiece-style BPE without byte_fallback is not supported');
  if (!spm && tj.byteFallback) throw unsupported(file, 'model.byte_fallback', 'byte-level BPE with byte_fallback is not supported');
  const table = tokenTable(tj, spm, opts.vocabSize);
  const specials = specialIds(tj, table.ids, parseHfTokenizerConfig(files.config), opts, spm);
  if (spm) return { kind: 'spm', vocab: spmVocabFromHf(tj, table, specials) };
  return { kind: 'bpe', vocab: bpeVocabFromHf(tj, table, specials, opts.modelType) };
}

/**
 * The tokenizer itself: SpmTokenizer or BpeTokenizer.
 * @example
 * const tok = tokenizerFromHf(readHfTokenizerFiles('Llama-2-7b-hf')!, { vocabSize: 32000 });
 * tok.encode('Hello world'); // [1, 15043, 3186]
 */
export function tokenizerFromHf(files: HfTokenizerFiles, opts: HfTokenizerOptions = {}): Tokenizer {
  const v = vocabFromHf(files, opts);
  return v.kind === 'spm' ? new SpmTokenizer(v.vocab) : new BpeTokenizer(v.vocab);
}

/**
 * `tokenizer.ggml.*` metadata describing it to llama.cpp (and our GGUF loader).
 * @example
 * writeGguf(out, { metadata: [...archKeys, ...hfVocabToGgufMetadata(vocabFromHf(files))], tensors });
 */
export function hfVocabToGgufMetadata(v: HfVocab): [string, GgufEntry][] {
  return v.kind === 'spm' ? spmVocabToGgufMetadata(v.vocab) : bpeVocabToGgufMetadata(v.vocab);
}

const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

/** llama.cpp's converter treats these added tokens as control even when not marked special. */
function looksSpecial(t: string): boolean {
  return (t.startsWith('<|') && t.endsWith('|>')) || (t.startsWith('<｜') && t.endsWith('｜>')) || t === '<pad>' || t === '<mask>';
}

function tokenTable(tj: HfTokenizerJson, spm: boolean, vocabSize: number | undefined): HfTokenTable {
  let n = 0;
  for (const id of tj.vocab.values()) n = Math.max(n, id + 1);
  for (const a of tj.added) n = Math.max(n, a.id + 1);
  if (vocabSize !== undefined) {
    if (vocabSize < n) {
      throw new StreamLlmError('TOKENIZER_BAD_VOCAB', `${tj.file} has token ids up to ${n - 1} but the model's vocab_size is ${vocabSize}`, {
        context: { file: tj.file, field: 'vocab_size', expected: `≥ ${n}`, actual: vocabSize },
      });
    }
    n = vocabSize;
  }
  const tokens = new Array<string | undefined>(n);
  const fileTypes = new Int32Array(n).fill(TokenType.UNUSED);
  for (const [tok, id] of tj.vocab) {
    if (tokens[id] !== undefined) {
      throw new StreamLlmError('TOKENIZER_BAD_VOCAB', `${tj.file}: id ${id} is given to both ${JSON.stringify(tokens[id])} and ${JSON.stringify(tok)}`, {
        context: { file: tj.file, field: 'model.vocab', actual: id },
      });
    }
    tokens[id] = tok;
    fileTypes[id] = spm && BYTE_PIECE.test(tok) ? TokenType.BYTE : TokenType.NORMAL;
  }
  for (const a of tj.added) {
    const control = a.special || looksSpecial(a.content);
    // llama.cpp writes user-defined tokens with plain spaces ("pre-normalized").
    tokens[a.id] = control ? a.content : a.content.replaceAll(SPM_SPACE, ' ');
    fileTypes[a.id] = control ? TokenType.CONTROL : TokenType.USER_DEFINED;
  }
  if (spm && tj.unkToken !== undefined) {
    const unk = tokens.indexOf(tj.unkToken);
    if (unk >= 0) fileTypes[unk] = TokenType.UNKNOWN;
  }
  const full = Array.from(tokens, (t, i) => t ?? `[PAD${i}]`);
  const ids = new Map<string, number>();
  full.forEach((t, i) => {
    if (!ids.has(t)) ids.set(t, i);
  });
  const { types, eogIds } = inferTokenRoles(full, fileTypes);
  return { tokens: full, types, ids, eogIds };
}

function specialIds(tj: HfTokenizerJson, ids: ReadonlyMap<string, number>, cfg: ReturnType<typeof parseHfTokenizerConfig>, opts: HfTokenizerOptions, spm: boolean): HfSpecials {
  const tpl = templateSpecials(tj.postProcessor);
  const idOf = (field: string, text: string | undefined, fallback?: number): number | undefined => {
    if (text === undefined) return fallback;
    const id = ids.get(text);
    if (id === undefined) {
      throw new StreamLlmError('TOKENIZER_BAD_VOCAB', `${field} ${JSON.stringify(text)} is not in the vocabulary`, { context: { file: tj.file, field, actual: text } });
    }
    return id;
  };
  const bosText = cfg.bosToken ?? tpl.first;
  const eosText = cfg.eosToken ?? (tpl.last !== undefined && tpl.last !== tpl.first ? tpl.last : undefined);
  const out: { -readonly [K in keyof HfSpecials]: HfSpecials[K] } = {};
  const bos = idOf('bos_token', bosText, opts.bosId);
  const eos = idOf('eos_token', eosText, opts.eosId);
  const unk = idOf('unk_token', cfg.unkToken ?? tj.unkToken);
  const pad = cfg.padToken !== undefined ? ids.get(cfg.padToken) : undefined; // padding is cosmetic: tolerate an unknown one
  if (bos !== undefined) out.bos = bos;
  if (eos !== undefined) out.eos = eos;
  if (unk !== undefined) out.unk = unk;
  if (pad !== undefined) out.pad = pad;
  // tokenizer_config.json decides; else what the post-processor adds; else the family default.
  const hasTemplate = tpl.first !== undefined || tpl.last !== undefined;
  const addBos = cfg.addBos ?? (hasTemplate ? tpl.first !== undefined && tpl.first === bosText : spm ? true : undefined);
  const addEos = cfg.addEos ?? (hasTemplate ? tpl.last !== undefined && tpl.last === eosText && tpl.last !== tpl.first : undefined);
  if (addBos !== undefined) out.addBos = addBos && bos !== undefined;
  if (addEos !== undefined) out.addEos = addEos && eos !== undefined;
  return out;
}
