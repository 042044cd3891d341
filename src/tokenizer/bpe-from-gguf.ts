/**
 * Reads a byte-level BPE vocabulary (tokenizer.ggml.model 'gpt2') from GGUF
 * metadata, with llama.cpp's defaults: `pre` missing means 'default',
 * add_bos_token defaults per pre-tokenizer (true only for the Llama-3 and
 * Tekken families), add_eos_token to false, token types to NORMAL.
 *
 * One llama.cpp default is deliberately not copied: without BOS/EOS keys it
 * assumes id 11 for both (a leftover from Falcon). We leave them unset.
 */
import { GgufValueType } from '../formats/gguf/types.js';
import { preTokenizer, unsupportedPreTokenizer } from './bpe-pretokenize.js';
import { validateBpeVocab, type BpeVocab } from './bpe-vocab.js';
import { K, Meta, type GgufMetadataSource } from './gguf-meta.js';
import { inferTokenRoles } from './token-heuristics.js';
import { TokenType } from './types.js';

/**
 * Throws TOKENIZER_MISSING when the file has no tokenizer (or no merges),
 * TOKENIZER_UNSUPPORTED for other families or an unknown `tokenizer.ggml.pre`
 * (the error lists the supported ones) and TOKENIZER_BAD_VOCAB for malformed
 * metadata.
 *
 * @example
 *   using f = GgufFile.open('ggml-vocab-gpt-2.gguf');
 *   const vocab = bpeVocabFromGguf(f);   // 50257 tokens, 50000 merges, pre 'gpt-2'
 *   const tok = new BpeTokenizer(vocab);
 */
export function bpeVocabFromGguf(file: GgufMetadataSource): BpeVocab {
  const m = new Meta(file);
  m.requireModel('gpt2');

  const preName = m.string(K.pre) ?? 'default';
  const pre = preTokenizer(preName);
  if (pre === undefined) throw unsupportedPreTokenizer(preName, file.name);

  const tokenItems = m.array(K.tokens, [GgufValueType.STRING]);
  if (tokenItems === undefined) {
    throw m.fail('TOKENIZER_MISSING', K.tokens, "tokenizer.ggml.model is 'gpt2' but the token list is missing", {},
      'the file was written by a broken converter; re-convert it');
  }
  const mergeItems = m.array(K.merges, [GgufValueType.STRING]);
  if (mergeItems === undefined) {
    throw m.fail('TOKENIZER_MISSING', K.merges, "tokenizer.ggml.model is 'gpt2' but the merges are missing", {},
      'byte-level BPE needs tokenizer.ggml.merges; re-convert the model with its tokenizer');
  }
  // llama.cpp names empty tokens "[EMPTY_<id>]"; doing the same keeps ids and texts aligned with it.
  const tokens = (tokenItems as readonly string[]).map((t, i) => (t.length > 0 ? t : `[EMPTY_${i}]`));
  const n = tokens.length;

  const fileTypes = new Int32Array(n).fill(TokenType.NORMAL);
  const typeItems = m.perToken(K.types, n, [GgufValueType.INT32]);
  if (typeItems !== undefined) for (let i = 0; i < n; i++) fileTypes[i] = typeItems[i] as number;
  const { types, eogIds } = inferTokenRoles(tokens, fileTypes);

  const eos = m.id(K.eos, n);
  const vocab: BpeVocab = {
    tokens,
    types,
    merges: mergeItems as readonly string[],
    pre: preName,
    bos: m.id(K.bos, n),
    eos,
    unk: m.id(K.unk, n),
    pad: m.id(K.pad, n),
    addBos: m.bool(K.addBos, pre.addBos),
    addEos: m.bool(K.addEos, false),
    eogIds: m.eogIds(eogIds, n, eos),
  };
  return validateBpeVocab(vocab);
}
