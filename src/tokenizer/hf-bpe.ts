/**
 * Byte-level BPE tokenizer.json (GPT-2, GPT-NeoX/Pythia, MPT, Falcon,
 * StarCoder, Llama 3, Qwen2) as a BpeVocab. The pre_tokenizer is matched,
 * step by step, against the pipelines those models ship and mapped to the
 * `tokenizer.ggml.pre` llama.cpp uses for them, so a converted GGUF tokenizes
 * the same in llama.cpp and here. Where llama.cpp's regexes approximate HF's
 * pipeline (Falcon's Punctuation/Digits steps) or skip its normalizer
 * (GPT-NeoX's NFC), we follow llama.cpp; anything else is refused.
 */
import { preTokenizer } from './bpe-pretokenize.js';
import { validateBpeVocab, type BpeVocab } from './bpe-vocab.js';
import { hfUnsupported as unsupported, parts, type HfSpecials, type HfTokenizerJson, type HfTokenTable, type Obj } from './hf-json.js';

/** HF's Split regexes for the Llama 3 and Qwen2 families (as shipped in their tokenizer.json). */
const LLAMA3_REGEX = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2_REGEX = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/** One pre-tokenizer step as a short canonical string, for matching whole pipelines. */
function signature(p: Obj): string {
  switch (p['type']) {
    case 'ByteLevel':
      return `ByteLevel(${p['use_regex'] === false ? 'noregex' : 'regex'},${p['add_prefix_space'] === true ? 'prefix' : 'noprefix'})`;
    case 'Split': {
      const pat = p['pattern'] as Obj | undefined;
      return `Split(${String(pat?.['Regex'] ?? `"${String(pat?.['String'])}"`)},${String(p['behavior'])},${p['invert'] === true ? 'invert' : ''})`;
    }
    case 'Digits':
      return `Digits(${p['individual_digits'] === true ? 'single' : 'runs'})`;
    case 'Punctuation':
      return `Punctuation(${String(p['behavior'] ?? 'Isolated')})`;
    default:
      return String(p['type']);
  }
}

/** Pre-tokenizer pipelines → llama.cpp's `tokenizer.ggml.pre` for them. */
const PIPELINES: Readonly<Record<string, string>> = {
  'ByteLevel(regex,noprefix)': 'gpt-2',
  'Punctuation(Contiguous)+ByteLevel(regex,noprefix)+Digits(runs)+Split([0-9][0-9][0-9],Isolated,)': 'falcon',
  'Digits(single)+ByteLevel(regex,noprefix)': 'starcoder',
  [`Split(${LLAMA3_REGEX},Isolated,)+ByteLevel(noregex,noprefix)`]: 'llama-bpe',
  [`Split(${QWEN2_REGEX},Isolated,)+ByteLevel(noregex,noprefix)`]: 'qwen2',
};

/** Same regexes under another llama.cpp name, by model family. */
const FAMILY_NAME: Readonly<Record<string, Readonly<Record<string, string>>>> = { 'gpt-2': { mpt: 'mpt' } };

/** The BpeVocab for a byte-level tokenizer.json; `modelType` picks among equivalent pre names. */
export function bpeVocabFromHf(tj: HfTokenizerJson, table: HfTokenTable, sp: HfSpecials, modelType: string | undefined): BpeVocab {
  for (const n of parts(tj.normalizer, 'normalizers', tj.file)) {
    // NFC only changes text that is not already NFC; llama.cpp skips it too.
    if (n['type'] !== 'NFC') throw unsupported(tj.file, 'normalizer', `normalizer '${String(n['type'])}' is not supported for byte-level BPE`);
  }
  const sig = parts(tj.preTokenizer, 'pretokenizers', tj.file).map(signature).join('+');
  const base = PIPELINES[sig];
  if (base === undefined) {
    throw unsupported(tj.file, 'pre_tokenizer', `pre-tokenizer pipeline ${sig === '' ? '(none)' : sig} is not one this engine reproduces`,
      'known: GPT-2/GPT-NeoX/MPT (ByteLevel), Falcon, StarCoder, Llama 3, Qwen2');
  }
  const pre = (modelType !== undefined ? FAMILY_NAME[base]?.[modelType] : undefined) ?? base;
  const alias = preTokenizer(pre)!;
  if (alias.ignoreMerges !== tj.ignoreMerges) {
    throw unsupported(tj.file, 'model.ignore_merges', `ignore_merges = ${tj.ignoreMerges} does not fit the '${pre}' pre-tokenizer`);
  }
  const merges = tj.merges.map(([a, b], i) => {
    if (a.includes(' ') || b.includes(' ')) throw unsupported(tj.file, 'model.merges', `merge ${i} has a token with a space, which GGUF merges cannot express`);
    return `${a} ${b}`;
  });
  return validateBpeVocab({
    tokens: table.tokens,
    types: table.types,
    merges,
    pre,
    bos: sp.bos,
    eos: sp.eos,
    unk: sp.unk,
    pad: sp.pad,
    // Llama 3's family default adds BOS, which needs one to add.
    addBos: (sp.addBos ?? alias.addBos) && sp.bos !== undefined,
    addEos: sp.addEos ?? false,
    eogIds: table.eogIds.filter((id) => id !== sp.eos),
  });
}
