/**
 * Pre-tokenizers for byte-level BPE: the regex splits that cut text into
 * words before merges run, selected by GGUF `tokenizer.ggml.pre`.
 *
 * The semantics are llama.cpp's `unicode_regex_split`, which is not quite
 * "run the tokenizer.json regex":
 *  - a pre-tokenizer is a *list* of regexes applied in turn; each one splits
 *    every piece the previous ones produced, and both its matches and the
 *    unmatched gaps between them become pieces. A piece's end is the end of
 *    input for the next regex, so `$` and `(?!\S)` look no further;
 *  - `\s` is Unicode White_Space (U+0085 included, U+FEFF not, unlike JS);
 *    llama.cpp turns every non-ASCII whitespace character into U+000B before
 *    matching, so e.g. deepseek-llm's class containing U+3000 never sees one.
 *    We do the same, which keeps string indices unchanged (all are BMP);
 *  - `\p{L}`, `\p{N}`, `\p{P}`, `\p{S}`, `\p{M}` are the Unicode general
 *    categories, which JS regexes with the `u` flag provide directly.
 * llama.cpp runs hand-written matchers for the GPT-2, Llama-3 and Qwen2
 * regexes; they split exactly as the regexes do (the differential test
 * against llama.cpp checks this for every family below).
 */
import { StreamLlmError } from '../errors.js';

/** A family of regex lists; several `pre` names share one. */
type Family =
  | 'default' | 'gpt2' | 'falcon' | 'starcoder' | 'deepseek-coder' | 'deepseek-llm' | 'deepseek-v3'
  | 'llama3' | 'qwen2' | 'qwen35' | 'bloom' | 'viking' | 'gpt4o' | 'tekken';

const CONTRACTIONS = String.raw`'s|'t|'re|'ve|'m|'ll|'d`;
// HF's `(?i:'s|...)`, spelled out because llama.cpp's regex engine lacks (?i:).
const CONTRACTIONS_ANY_CASE = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const GPT2 = String.raw`${CONTRACTIONS}| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
const llama3Like = (letters: string, numbers: string, other: string): string =>
  String.raw`${CONTRACTIONS_ANY_CASE}|[^\r\n\p{L}\p{N}]?${letters}+|${numbers}| ?[^\s${other}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** Han, Hangul and the block before Han, as DeepSeek's tokenizer.json writes them. */
const DEEPSEEK_CJK = String.raw`[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+`;
/** Cased scripts whose words DeepSeek-LLM keeps together (from its tokenizer.json). */
const DEEPSEEK_LETTERS = [
  String.raw`A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}`,
  String.raw`\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}`,
  String.raw`\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}`,
  String.raw`\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}`,
  String.raw`\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}`,
  String.raw`\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}`,
  String.raw`\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}`,
  String.raw`\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}`,
  String.raw`\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}`,
  String.raw`\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}`,
  String.raw`\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}`,
  String.raw`\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}`,
  String.raw`\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}`,
].join('');
// "Upper-ish then lower-ish letters" without \p{Lu}/\p{Ll}: llama.cpp collapses
// all letters to one class, so only ASCII case is seen — as these lookaheads do.
const CASED_WORD = String.raw`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+`;
const CASED_UPPER = String.raw`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*`;
const BLOOM = String.raw` ?[^(\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+`;

const FAMILIES = {
  // llama.cpp's fallback when `pre` is 'default' or missing (older GPT-NeoX conversions).
  default: [String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2, String.raw`\p{N}+`, '[0-9][0-9][0-9]'],
  gpt2: [GPT2],
  falcon: ['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]'],
  starcoder: [String.raw`\p{N}`, GPT2],
  'deepseek-coder': ['[\r\n]', String.raw`\s?\p{L}+`, String.raw`\s?\p{P}+`, DEEPSEEK_CJK, String.raw`\p{N}`],
  'deepseek-llm': [
    '[\r\n]', String.raw`\s?[${DEEPSEEK_LETTERS}]+`, String.raw`\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+`,
    String.raw`\s+$`, DEEPSEEK_CJK, String.raw`\p{N}+`,
  ],
  'deepseek-v3': [
    String.raw`\p{N}{1,3}`, String.raw`[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+`,
    String.raw`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + '`' + String.raw`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  ],
  llama3: [llama3Like(String.raw`\p{L}`, String.raw`\p{N}{1,3}`, String.raw`\p{L}\p{N}`)],
  qwen2: [llama3Like(String.raw`\p{L}`, String.raw`\p{N}`, String.raw`\p{L}\p{N}`)],
  qwen35: [llama3Like(String.raw`[\p{L}\p{M}]`, String.raw`\p{N}`, String.raw`\p{L}\p{M}\p{N}`)],
  bloom: [BLOOM],
  viking: [BLOOM, String.raw`\p{N}`],
  gpt4o: [
    String.raw`${CASED_WORD}${CONTRACTIONS_ANY_CASE}?|${CASED_UPPER}${CONTRACTIONS_ANY_CASE}?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  ],
  tekken: [String.raw`${CASED_WORD}|${CASED_UPPER}|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`],
} satisfies Record<Family, readonly string[]>;

interface Alias {
  readonly family: Family;
  /** llama.cpp's `clean_spaces`: detokenization drops the space in " ," and friends. */
  readonly cleanSpaces: boolean;
  /** Default for `add_bos_token` when the GGUF does not say. */
  readonly addBos?: boolean;
  /** A word that is itself a token is emitted whole, merges or not (Llama 3, Tekken). */
  readonly ignoreMerges?: boolean;
}

const clean = (family: Family): Alias => ({ family, cleanSpaces: true });
const raw = (family: Family): Alias => ({ family, cleanSpaces: false });
const LLAMA3: Alias = { family: 'llama3', cleanSpaces: true, addBos: true, ignoreMerges: true };

/** `tokenizer.ggml.pre` values and their settings, after llama.cpp's `llama_vocab::impl::load`. */
const PRE: Readonly<Record<string, Alias>> = {
  default: clean('default'),
  'gpt-2': clean('gpt2'), 'phi-2': clean('gpt2'), mpt: clean('gpt2'), olmo: clean('gpt2'), jais: clean('gpt2'),
  'jina-es': clean('gpt2'), 'jina-de': clean('gpt2'), gigachat: clean('gpt2'), 'a.x-4.0': clean('gpt2'),
  mellum: clean('gpt2'), exaone4: clean('gpt2'), trillion: raw('gpt2'), 'granite-docling': raw('gpt2'),
  falcon: clean('falcon'),
  starcoder: clean('starcoder'), refact: clean('starcoder'), codeshell: clean('starcoder'), exaone: clean('starcoder'),
  'minerva-7b': clean('starcoder'), mellum2: clean('starcoder'), 'command-r': raw('starcoder'), smollm: raw('starcoder'),
  'deepseek-coder': raw('deepseek-coder'),
  'deepseek-llm': raw('deepseek-llm'),
  'deepseek-v3': raw('deepseek-v3'), 'hunyuan-dense': raw('deepseek-v3'), 'joyai-llm': raw('deepseek-v3'),
  llama3: LLAMA3, 'llama-v3': LLAMA3, 'llama-bpe': LLAMA3, falcon3: LLAMA3, 'falcon-h1': LLAMA3, pixtral: LLAMA3,
  'midm-2.0': LLAMA3, lfm2: LLAMA3, 'jina-v5-nano': LLAMA3,
  dbrx: clean('llama3'), 'smaug-bpe': clean('llama3'), glm4: clean('llama3'), 'chatglm-bpe': clean('llama3'),
  qwen2: raw('qwen2'), 'deepseek-r1-qwen': raw('qwen2'), kormo: raw('qwen2'), f2llmv2: raw('qwen2'),
  hunyuan: raw('qwen2'), 'solar-open': raw('qwen2'), 'grok-2': raw('qwen2'), megrez: clean('qwen2'), stablelm2: clean('qwen2'),
  qwen35: raw('qwen35'),
  bloom: clean('bloom'), 'gpt3-finnish': clean('bloom'), 'poro-chat': raw('bloom'),
  viking: raw('viking'),
  'gpt-4o': raw('gpt4o'), llama4: raw('gpt4o'), kanana2: raw('gpt4o'), talkie: raw('gpt4o'), 'minimax-m2': raw('gpt4o'),
  tekken: { family: 'tekken', cleanSpaces: false, addBos: true, ignoreMerges: true },
};

/** Every `tokenizer.ggml.pre` value this engine understands, sorted. */
export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(PRE).sort();

const WS_CLASS = String.raw`\t\n\v\f\r `;

/**
 * Compiles llama.cpp-notation regex source to a JS regex over
 * whitespace-normalized text (see `normalizeWhitespace`), where `\s` can
 * only be ASCII whitespace.
 */
function compile(src: string): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1]!;
      i++;
      if (n === 's') out += inClass ? WS_CLASS : `[${WS_CLASS}]`;
      else if (n === 'S' && !inClass) out += `[^${WS_CLASS}]`;
      else if (n === 'S') throw new Error(`\\S inside a character class is not supported: ${src}`);
      else out += c + n;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return new RegExp(out, 'gu');
}

const NON_ASCII_WS = /[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g;

/** Non-ASCII White_Space → U+000B, as llama.cpp does before matching; same length. */
function normalizeWhitespace(text: string): string {
  return text.replace(NON_ASCII_WS, '\v');
}

/**
 * A compiled pre-tokenizer.
 *
 * @example
 *   const pre = preTokenizer('gpt-2')!;
 *   pre.split("Hello world's  1234");   // ['Hello', ' world', "'s", ' ', ' 1234']
 */
export interface PreTokenizer {
  readonly name: string;
  readonly cleanSpaces: boolean;
  readonly addBos: boolean;
  readonly ignoreMerges: boolean;
  /** Cuts `text` into words; they concatenate back to `text`. */
  split(text: string): string[];
}

const compiled = new Map<Family, readonly RegExp[]>();

/** TOKENIZER_UNSUPPORTED for an unknown `tokenizer.ggml.pre`, listing the known ones. */
export function unsupportedPreTokenizer(name: string, file?: string): StreamLlmError {
  return new StreamLlmError('TOKENIZER_UNSUPPORTED', `pre-tokenizer '${name}' (tokenizer.ggml.pre) is not supported`, {
    context: { file, field: 'tokenizer.ggml.pre', actual: name, expected: SUPPORTED_PRE_TOKENIZERS },
    hint: `supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`,
  });
}

/**
 * The pre-tokenizer for a `tokenizer.ggml.pre` value, or undefined if unknown.
 *
 * @example
 *   preTokenizer('llama-bpe')!.split('1234567');   // ['123', '456', '7']
 */
export function preTokenizer(name: string): PreTokenizer | undefined {
  const alias = Object.hasOwn(PRE, name) ? PRE[name] : undefined;
  if (alias === undefined) return undefined;
  let regexes = compiled.get(alias.family);
  if (regexes === undefined) {
    regexes = FAMILIES[alias.family].map(compile);
    compiled.set(alias.family, regexes);
  }
  const res = regexes;
  return {
    name,
    cleanSpaces: alias.cleanSpaces,
    addBos: alias.addBos ?? false,
    ignoreMerges: alias.ignoreMerges ?? false,
    split: (text) => splitWith(text, res),
  };
}

/** Applies each regex to every piece left by the previous ones (llama.cpp's offsets loop). */
function splitWith(text: string, regexes: readonly RegExp[]): string[] {
  if (text.length === 0) return [];
  const norm = normalizeWhitespace(text);
  // Piece lengths in UTF-16 units; pieces are contiguous from index 0.
  let lengths: number[] = [text.length];
  for (const re of regexes) {
    const next: number[] = [];
    let start = 0;
    for (const len of lengths) {
      splitPiece(norm.slice(start, start + len), re, next);
      start += len;
    }
    lengths = next;
  }
  const words: string[] = [];
  let at = 0;
  for (const len of lengths) {
    words.push(text.slice(at, at + len));
    at += len;
  }
  return words;
}

/** Appends the lengths of matches and of the gaps between them. */
function splitPiece(piece: string, re: RegExp, out: number[]): void {
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(piece); m !== null; m = re.exec(piece)) {
    const len = m[0].length;
    if (m.index > last) out.push(m.index - last);
    if (len > 0) out.push(len);
    else re.lastIndex += (piece.codePointAt(m.index) ?? 0) > 0xffff ? 2 : 1; // step over an empty match, as regex_iterator does
    last = m.index + len;
  }
  if (last < piece.length) out.push(piece.length - last);
}
