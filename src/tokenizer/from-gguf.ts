/**
 * Builds a tokenizer from GGUF `tokenizer.ggml.*` metadata: SentencePiece
 * for model 'llama', byte-level BPE (bpe-from-gguf.ts) for 'gpt2'. Key names,
 * defaults and the text / model-name heuristics (token-heuristics.ts, Phi-3
 * rstrip) follow llama.cpp's `llama_vocab::impl::load`, so a GGUF tokenizes
 * here as it does there.
 */
import { GgufValueType } from '../formats/gguf/types.js';
import { BpeTokenizer } from './bpe.js';
import { bpeVocabFromGguf } from './bpe-from-gguf.js';
import { K, Meta, type GgufMetadataSource } from './gguf-meta.js';
import { SpmTokenizer } from './spm.js';
import { inferTokenRoles } from './token-heuristics.js';
import { hasByteTokens, validateSpmVocab, type SpmVocab } from './spm-vocab.js';
import { TokenType, type Tokenizer } from './types.js';

export type { GgufMetadataSource } from './gguf-meta.js';

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
  m.requireModel('llama');

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
    eogIds: m.eogIds(eogIds, n, eos),
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
 * The tokenizer a GGUF file describes: `SpmTokenizer` for
 * tokenizer.ggml.model 'llama', `BpeTokenizer` for 'gpt2'.
 *
 * @example
 *   using f = GgufFile.open('model.gguf');
 *   const tok = tokenizerFromGguf(f);
 *   tok.encode('Hello world');   // [1, 15043, 3186]
 */
export function tokenizerFromGguf(file: GgufMetadataSource): Tokenizer {
  if (new Meta(file).string(K.model) === 'gpt2') return new BpeTokenizer(bpeVocabFromGguf(file));
  return new SpmTokenizer(spmVocabFromGguf(file));
}
