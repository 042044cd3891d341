/**
 * What every vocabulary-table tokenizer shares: ids by piece, special tokens
 * for the SpecialMatcher, end-of-generation ids, and the bytes each token
 * contributes to text. SentencePiece and byte-level BPE differ only in how a
 * NORMAL token's text becomes bytes ('▁' for spaces vs GPT-2's byte alphabet)
 * and in how they encode, which the subclasses supply.
 */
import { StreamLlmError } from '../errors.js';
import type { PieceSource } from './detokenize.js';
import type { SpecialToken } from './special.js';
import { TokenType } from './types.js';

export interface BaseVocab {
  readonly tokens: readonly string[];
  readonly types: Int32Array;
  readonly bos?: number | undefined;
  readonly eos?: number | undefined;
  readonly unk?: number | undefined;
  readonly addBos: boolean;
  readonly eogIds?: readonly number[];
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

export abstract class VocabTokenizer<V extends BaseVocab> implements PieceSource {
  readonly vocab: V;
  readonly vocabSize: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly unk: number | undefined;
  readonly addBos: boolean;

  /** Id by exact piece text (first occurrence wins; empty pieces are never matched). */
  protected readonly ids = new Map<string, number>();
  /** Lazily built visible bytes per id (control tokens: empty). */
  private readonly pieces: (Uint8Array | undefined)[];
  private readonly eog: ReadonlySet<number>;

  protected constructor(vocab: V) {
    this.vocab = vocab;
    this.vocabSize = vocab.tokens.length;
    this.bos = vocab.bos;
    this.eos = vocab.eos;
    this.unk = vocab.unk;
    this.addBos = vocab.addBos;
    this.pieces = new Array<Uint8Array | undefined>(this.vocabSize);
    vocab.tokens.forEach((text, id) => {
      if (text.length > 0) this.ids.set(text, id);
    });
    const eog = new Set(vocab.eogIds ?? []);
    if (vocab.eos !== undefined) eog.add(vocab.eos);
    this.eog = eog;
  }

  /**
   * Control, unknown and user-defined tokens, for the SpecialMatcher. User-defined
   * tokens are matched even in plain text (llama.cpp, after HF tokenizers).
   */
  protected specialTokens(lstrip: ReadonlySet<number> = new Set(), rstrip: ReadonlySet<number> = new Set()): (SpecialToken & { always: boolean })[] {
    const out: (SpecialToken & { always: boolean })[] = [];
    this.vocab.tokens.forEach((text, id) => {
      if (text.length === 0) return;
      const type = this.vocab.types[id];
      if (type === TokenType.CONTROL || type === TokenType.UNKNOWN || type === TokenType.USER_DEFINED) {
        out.push({ id, text, lstrip: lstrip.has(id), rstrip: rstrip.has(id), always: type === TokenType.USER_DEFINED });
      }
    });
    return out;
  }

  /** A NORMAL token's text as the bytes it stands for. */
  protected abstract normalBytes(text: string): Uint8Array;

  tokenPiece(id: number): Uint8Array {
    return this.piece(id, true).slice();
  }

  /** PieceSource: the returned array is shared; callers must not modify it. */
  piece(id: number, skipSpecial: boolean): Uint8Array {
    this.check(id);
    const type = this.vocab.types[id];
    if (!skipSpecial && (type === TokenType.CONTROL || type === TokenType.UNKNOWN)) {
      return utf8.encode(this.vocab.tokens[id]!);
    }
    return (this.pieces[id] ??= this.buildPiece(id));
  }

  tokenText(id: number): string {
    this.check(id);
    return this.vocab.tokens[id]!;
  }

  /** The id of an exact vocabulary entry (in the vocabulary's own spelling), if any. */
  tokenId(text: string): number | undefined {
    return this.ids.get(text);
  }

  isControl(id: number): boolean {
    this.check(id);
    return this.vocab.types[id] === TokenType.CONTROL;
  }

  isEog(id: number): boolean {
    return this.eog.has(id);
  }

  protected check(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
      throw new StreamLlmError('TOKEN_OUT_OF_RANGE', `token id ${id} is outside the vocabulary (size ${this.vocabSize})`, {
        context: { actual: id, expected: `0..${this.vocabSize - 1}` },
      });
    }
  }

  private buildPiece(id: number): Uint8Array {
    const text = this.vocab.tokens[id]!;
    switch (this.vocab.types[id]) {
      case TokenType.NORMAL:
        return this.normalBytes(text);
      case TokenType.USER_DEFINED:
        // Verbatim: these are matched in raw text (SPM's '▁' included, as llama.cpp does).
        return utf8.encode(text);
      case TokenType.BYTE: {
        const m = BYTE_TOKEN.exec(text);
        // A byte-typed piece that is not <0xNN> is a broken vocabulary; show its text.
        return m ? Uint8Array.of(parseInt(m[1]!, 16)) : utf8.encode(text);
      }
      default:
        // CONTROL / UNKNOWN (when skipping specials), UNUSED, UNDEFINED: nothing.
        return EMPTY;
    }
  }
}

function bad(message: string, context: Record<string, unknown>, hint?: string): StreamLlmError {
  return new StreamLlmError('TOKENIZER_BAD_VOCAB', message, hint === undefined ? { context } : { context, hint });
}

/**
 * The checks every vocabulary shares: not empty, one token type per token,
 * special ids (plus `extraIds`, e.g. SPM's lstrip/rstrip lists) inside the
 * vocabulary, BOS/EOS present when they are to be added, no duplicate piece.
 * Throws TOKENIZER_BAD_VOCAB naming the field.
 */
export function validateBaseVocab(
  v: BaseVocab & { readonly pad?: number | undefined; readonly addEos: boolean },
  extraIds: readonly [string, number][] = [],
): void {
  const n = v.tokens.length;
  if (n === 0) throw bad('vocabulary is empty', { field: 'tokens' });
  if (v.types.length !== n) throw bad(`token_type has ${v.types.length} entries for ${n} tokens`, { field: 'types', expected: n, actual: v.types.length });
  const ids: [string, number | undefined][] = [['bos', v.bos], ['eos', v.eos], ['unk', v.unk], ['pad', v.pad]];
  for (const id of v.eogIds ?? []) ids.push(['eogIds', id]);
  ids.push(...extraIds);
  for (const [field, id] of ids) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < n)) {
      throw bad(`${field} id ${id} is outside the vocabulary (size ${n})`, { field, actual: id, expected: `0..${n - 1}` });
    }
  }
  if (v.addBos && v.bos === undefined) throw bad('add_bos_token is set but there is no BOS id', { field: 'bos' });
  if (v.addEos && v.eos === undefined) throw bad('add_eos_token is set but there is no EOS id', { field: 'eos' });
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t = v.tokens[i]!;
    // Empty pieces are tolerated (llama.cpp does): they can never be matched.
    if (t.length === 0) continue;
    const prev = seen.get(t);
    if (prev !== undefined) {
      // llama.cpp asserts on this too: one of the two ids could never be produced.
      throw bad(`duplicate token ${JSON.stringify(t)} has ids ${prev} and ${i}`, { field: 'tokens', token: t, ids: [prev, i] },
        'each token must appear once; the converter that wrote this vocabulary is broken');
    }
    seen.set(t, i);
  }
}
