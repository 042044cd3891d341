/**
 * Byte-level BPE tokenizer (GPT-2, GPT-NeoX/Pythia, MPT, Falcon, StarCoder,
 * DeepSeek, Qwen2, Llama 3, ...), matching llama.cpp's LLAMA_VOCAB_TYPE_BPE.
 *
 * Encoding:
 *   1. split the text around special tokens (user-defined ones always,
 *      control ones only with `parseSpecial`), as for SentencePiece;
 *   2. cut each remaining fragment into words with the pre-tokenizer named by
 *      `tokenizer.ggml.pre` (bpe-pretokenize.ts);
 *   3. write each word's UTF-8 bytes as GPT-2 byte characters (byte-unicode.ts)
 *      and merge adjacent symbols by rank: the pair whose "left right" rule
 *      comes first in the merges list, leftmost on ties, until none applies;
 *   4. emit each final symbol's id. A symbol with no id (only possible in a
 *      vocabulary that lacks some merge results or byte characters) becomes
 *      the ids of its single ASCII characters, and other bytes are dropped —
 *      what llama.cpp does.
 * Step 3 uses a heap over a linked list of symbols, so a word costs
 * O(n log n); words repeat, so results are cached per word.
 *
 * Decoding maps byte characters back to bytes; user-defined tokens render
 * verbatim and control tokens as nothing unless `skipSpecial: false`.
 * There is no space prefix to strip. llama.cpp's `clean_spaces` post-pass
 * (" ," → ",", " 's" → "'s", ...) is lossy, so it is opt-in here
 * (`cleanUpSpaces`); without it decode(encode(x)) === x.
 */
import { requireArg } from '../errors.js';
import { BigramHeap, drainMerges } from './bigram-heap.js';
import { bytesToByteLevel, charToByte } from './byte-unicode.js';
import { preTokenizer, unsupportedPreTokenizer, type PreTokenizer } from './bpe-pretokenize.js';
import { validateBpeVocab, type BpeVocab } from './bpe-vocab.js';
import { detokenize, Utf8StreamDecoder, type LeadingSpacePolicy } from './detokenize.js';
import { SpecialMatcher } from './special.js';
import { VocabTokenizer } from './vocab-tokenizer.js';
import { type DecodeOptions, type EncodeOptions, type StreamDecoder, type Tokenizer } from './types.js';

export interface BpeDecodeOptions extends DecodeOptions {
  /**
   * Apply llama.cpp's `clean_spaces` post-pass (Hugging Face's
   * clean_up_tokenization_spaces): drop the space before `?!.,`, around a
   * lone `'`, and before `'s 'm 're 've`. Default false, because it changes
   * the text; `cleanSpaces` says whether llama.cpp applies it for this vocabulary.
   */
  cleanUpSpaces?: boolean;
}

const utf8 = new TextEncoder();
// Unpaired UTF-16 surrogates: llama.cpp receives them as U+FFFD through UTF-8.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const NO_STRIP: LeadingSpacePolicy = { stripAfterStart: false };
/** Cached words before the cache is dropped; bounds memory on endless streams. */
const WORD_CACHE_LIMIT = 50_000;

/**
 * @example
 *   const tok = new BpeTokenizer(bpeVocabFromGguf(file));
 *   tok.encode('Hello world');        // [15496, 995] with GPT-2
 *   tok.decode([15496, 995]);          // 'Hello world'
 */
export class BpeTokenizer extends VocabTokenizer<BpeVocab> implements Tokenizer {
  readonly preTokenizer: PreTokenizer;
  /** Whether llama.cpp's detokenizer cleans up spaces for this vocabulary (see `BpeDecodeOptions`). */
  readonly cleanSpaces: boolean;

  /** Merge rank by "left right". Byte-level symbols never contain ' ', so the key is unambiguous. */
  private readonly ranks = new Map<string, number>();
  private readonly special: SpecialMatcher;
  private readonly wordCache = new Map<string, readonly number[]>();
  private readonly heap = new BigramHeap();

  constructor(vocab: BpeVocab) {
    validateBpeVocab(vocab);
    const pre = preTokenizer(vocab.pre);
    if (pre === undefined) throw unsupportedPreTokenizer(vocab.pre);
    super(vocab);
    this.preTokenizer = pre;
    this.cleanSpaces = pre.cleanSpaces;
    // User-defined tokens match in plain text: GPT-NeoX's whitespace-run tokens and
    // DeepSeek's extra byte characters rely on it.
    this.special = new SpecialMatcher(this.specialTokens());

    vocab.merges.forEach((rule, rank) => {
      // llama.cpp splits at the first space after position 0; rules without one never match.
      const at = rule.indexOf(' ', 1);
      if (at > 0 && !this.ranks.has(rule)) this.ranks.set(rule, rank);
    });
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const addBos = opts.addBos ?? this.addBos;
    const addEos = opts.addEos ?? this.vocab.addEos;
    requireArg(!addBos || this.bos !== undefined, 'addBos requested but this vocabulary has no BOS token');
    requireArg(!addEos || this.eos !== undefined, 'addEos requested but this vocabulary has no EOS token');
    const out: number[] = [];
    if (addBos) out.push(this.bos!);
    for (const frag of this.special.partition(text.replace(LONE_SURROGATE, '\uFFFD'), opts.parseSpecial ?? false)) {
      if ('id' in frag) out.push(frag.id);
      else for (const word of this.preTokenizer.split(frag.text)) this.encodeWord(word, out);
    }
    if (addEos) out.push(this.eos!);
    return out;
  }

  decode(ids: readonly number[], opts: BpeDecodeOptions = {}): string {
    const text = detokenize(this, NO_STRIP, ids, opts.skipSpecial ?? true);
    return opts.cleanUpSpaces === true ? cleanUpSpaces(text) : text;
  }

  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    return new Utf8StreamDecoder(this, NO_STRIP, opts.skipSpecial ?? true);
  }

  protected normalBytes(text: string): Uint8Array {
    return byteLevelToBytes(text);
  }

  private encodeWord(word: string, out: number[]): void {
    let ids = this.wordCache.get(word);
    if (ids === undefined) {
      const local: number[] = [];
      this.mergeWord(bytesToByteLevel(utf8.encode(word)), local);
      if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(word, local);
      ids = local;
    }
    for (const id of ids) out.push(id);
  }

  /** Steps 3-4 on one byte-level word: one UTF-16 unit per byte, so symbol i starts at index i. */
  private mergeWord(w: string, out: number[]): void {
    if (this.preTokenizer.ignoreMerges) {
      const whole = this.ids.get(w);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    const n = w.length;
    if (n === 0) return;
    // Symbols form a linked list; a merge grows the left one and empties the right. (n)
    const len = new Int32Array(n).fill(1);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = this.heap; // always drained below, so safe to share between words
    const tryAdd = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const rank = this.ranks.get(w.slice(l, l + len[l]!) + ' ' + w.slice(r, r + len[r]!));
      // Lowest rank first: the heap pops the highest score, leftmost on ties.
      if (rank !== undefined) heap.push(-rank, l, r, len[l]! + len[r]!);
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);

    drainMerges(heap, len, prev, next, tryAdd);

    for (let i = 0; i !== -1; i = next[i]!) this.emitSymbol(w.slice(i, i + len[i]!), out);
  }

  private emitSymbol(sym: string, out: number[]): void {
    const id = this.ids.get(sym);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    for (const ch of sym) {
      const single = ch.charCodeAt(0) < 0x80 ? this.ids.get(ch) : undefined;
      if (single !== undefined) out.push(single);
    }
  }
}

/**
 * Bytes of a byte-level token. A character that stands for no byte (a
 * converter wrote raw text into a normal token) becomes llama.cpp's visible
 * `[UNK_BYTE_0x..]` marker rather than vanishing.
 */
function byteLevelToBytes(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    const b = charToByte(ch.codePointAt(0)!);
    if (b >= 0) {
      bytes.push(b);
      continue;
    }
    const hex = Array.from(utf8.encode(ch), (x) => x.toString(16).padStart(2, '0')).join('');
    bytes.push(...utf8.encode(`[UNK_BYTE_0x${hex}${text}]`));
  }
  return Uint8Array.from(bytes);
}

/**
 * llama.cpp's `clean_spaces` passes, in order: drop a space before `?!.,`;
 * turn " ' " into "'"; drop the space before `'s 'm 're 've` (not `'t 'd 'll`).
 * llama.cpp runs them on bytes; every character involved is ASCII, so
 * running them on the decoded string gives the same text.
 *
 * @example
 *   cleanUpSpaces("Hello , world ! it 's");   // "Hello, world! it's"
 */
export function cleanUpSpaces(text: string): string {
  return text.replace(/ (?=[?!.,])/g, '').replace(/ ' /g, "'").replace(/ (?='(?:[sm]|re|ve))/g, '');
}
