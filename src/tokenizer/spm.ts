/**
 * SentencePiece-BPE tokenizer (Llama 1/2, Mistral, Phi-3, llama2.c), matching
 * llama.cpp's LLAMA_VOCAB_TYPE_SPM bit for bit on its test vectors.
 *
 * Encoding, per text fragment between special tokens:
 *   1. prepend ' ' when `addSpacePrefix` and the fragment starts the input or
 *      follows a special token (llama.cpp does this after *every* special
 *      token, not only at the start);
 *   2. write spaces as '▁' and cut the text into characters;
 *   3. repeatedly merge the adjacent pair whose concatenation is a vocabulary
 *      piece with the highest score, leftmost on ties;
 *   4. emit each final symbol's id, or its UTF-8 bytes as `<0xNN>` tokens when
 *      the symbol is not a piece (byte fallback), else `unk`.
 * Step 3 uses a heap of candidate pairs over a linked list of symbols, so it
 * is O(n log n) rather than llama2.c's O(n^2) rescan; both pick the same pair
 * at every step. (llama2.c turns characters without a piece into byte tokens
 * before merging, llama.cpp and we after; that only matters if a piece
 * contains a character that is not itself a piece, which SentencePiece
 * training does not produce.)
 *
 * Decoding renders '▁' as ' ', byte tokens as raw bytes, user-defined
 * pieces verbatim and control/unknown tokens as nothing (unless
 * `skipSpecial: false`), then drops the prefix space at the start and after
 * each BOS — llama2.c's rule, see `LeadingSpacePolicy` for how that differs
 * from llama.cpp.
 *
 * Not done, as in llama.cpp: SentencePiece's NFKC normalization and
 * whitespace collapsing. Lone UTF-16 surrogates are encoded as U+FFFD bytes.
 */
import { StreamLlmError, requireArg } from '../errors.js';
import { detokenize, Utf8StreamDecoder, type LeadingSpacePolicy } from './detokenize.js';
import { BigramHeap, drainMerges } from './bigram-heap.js';
import { SpecialMatcher } from './special.js';
import { SPM_SPACE, validateSpmVocab, type SpmVocab } from './spm-vocab.js';
import { VocabTokenizer } from './vocab-tokenizer.js';
import { type DecodeOptions, type EncodeOptions, type StreamDecoder, type Tokenizer } from './types.js';

const utf8 = new TextEncoder();

/**
 * @example
 *   const tok = new SpmTokenizer(spmVocabFromGguf(file));
 *   tok.encode('Hello world');            // [1, 15043, 3186]  (BOS added)
 *   tok.decode([1, 15043, 3186]);          // 'Hello world'
 */
export class SpmTokenizer extends VocabTokenizer<SpmVocab> implements Tokenizer {
  /** Longest piece in UTF-16 units: no pair longer than this can merge. */
  private readonly maxPieceLen: number;
  /** Id of `<0xNN>` for each byte value, -1 if absent. (256) */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly special: SpecialMatcher;
  private readonly space: string;
  private readonly policy: LeadingSpacePolicy;

  constructor(vocab: SpmVocab) {
    validateSpmVocab(vocab);
    super(vocab);
    this.space = vocab.spaceChar ?? SPM_SPACE;
    let maxLen = 0;
    for (const text of vocab.tokens) maxLen = Math.max(maxLen, text.length);
    this.maxPieceLen = maxLen;
    this.special = new SpecialMatcher(this.specialTokens(new Set(vocab.lstripIds ?? []), new Set(vocab.rstripIds ?? [])));

    for (let b = 0; b < 256; b++) {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      // llama.cpp's byte_to_token: `<0xNN>`, else the byte itself as a piece (ASCII only here).
      const id = this.ids.get(`<0x${hex}>`) ?? (b < 0x80 ? this.ids.get(String.fromCharCode(b)) : undefined);
      if (id !== undefined) this.byteIds[b] = id;
    }
    this.policy = { stripAfterStart: vocab.addSpacePrefix, bos: vocab.bos };
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const addBos = opts.addBos ?? this.addBos;
    const addEos = opts.addEos ?? this.vocab.addEos;
    requireArg(!addBos || this.bos !== undefined, 'addBos requested but this vocabulary has no BOS token');
    requireArg(!addEos || this.eos !== undefined, 'addEos requested but this vocabulary has no EOS token');
    const out: number[] = [];
    if (addBos) out.push(this.bos!);
    // The space prefix goes before the first fragment and after each special token.
    let afterSpecial = true;
    for (const frag of this.special.partition(text, opts.parseSpecial ?? false)) {
      if ('id' in frag) {
        out.push(frag.id);
        afterSpecial = true;
      } else {
        const prefixed = this.vocab.addSpacePrefix && afterSpecial ? ' ' + frag.text : frag.text;
        this.encodeFragment(prefixed.replaceAll(' ', this.space), out);
        afterSpecial = false;
      }
    }
    if (addEos) out.push(this.eos!);
    return out;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    return detokenize(this, this.policy, ids, opts.skipSpecial ?? true);
  }

  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    return new Utf8StreamDecoder(this, this.policy, opts.skipSpecial ?? true);
  }

  protected normalBytes(text: string): Uint8Array {
    return utf8.encode(text.replaceAll(this.space, ' '));
  }

  /** Steps 2-4 of the algorithm on one escaped fragment, appending ids to `out`. */
  private encodeFragment(s: string, out: number[]): void {
    if (s.length === 0) return;
    // Symbols form a doubly linked list over contiguous spans of `s`. (symbols)
    const start = new Int32Array(s.length);
    const len = new Int32Array(s.length); // UTF-16 units; 0 once merged away
    const prev = new Int32Array(s.length);
    const next = new Int32Array(s.length);
    let n = 0;
    for (let i = 0; i < s.length; n++) {
      const c = s.charCodeAt(i);
      const pair = c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      start[n] = i;
      len[n] = pair ? 2 : 1;
      prev[n] = n - 1;
      next[n] = n + 1;
      i += len[n]!;
    }
    next[n - 1] = -1;

    const heap = new BigramHeap();
    const tryAdd = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const pairLen = len[l]! + len[r]!;
      if (pairLen > this.maxPieceLen) return;
      const id = this.ids.get(s.slice(start[l]!, start[l]! + pairLen));
      if (id !== undefined) heap.push(this.vocab.scores[id]!, l, r, pairLen);
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);

    drainMerges(heap, len, prev, next, tryAdd);

    for (let i = 0; i !== -1; i = next[i]!) this.emitSymbol(s.slice(start[i]!, start[i]! + len[i]!), out);
  }

  private emitSymbol(sym: string, out: number[]): void {
    const id = this.ids.get(sym);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    if (this.vocab.byteFallback) {
      const bytes = utf8.encode(sym);
      if (bytes.every((b) => this.byteIds[b]! >= 0)) {
        for (const b of bytes) out.push(this.byteIds[b]!);
        return;
      }
    }
    if (this.unk === undefined) {
      throw new StreamLlmError('TOKENIZER_BAD_VOCAB', `cannot encode ${JSON.stringify(sym)}: no piece, no byte token and no unknown token`, {
        context: { field: 'unk', text: sym },
      });
    }
    out.push(this.unk);
  }
}
