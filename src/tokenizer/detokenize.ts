/**
 * Detokenization shared by `decode()` and the streaming decoder, so the two
 * can never disagree: both run the same per-token state machine, and differ
 * only in when the bytes are turned into a string.
 */
import type { StreamDecoder } from './types.js';

/** What a tokenizer must provide to be detokenized. */
export interface PieceSource {
  /** Bytes of `id` as text; control/unknown tokens give their text only when `!skipSpecial`. */
  piece(id: number, skipSpecial: boolean): Uint8Array;
}

export interface LeadingSpacePolicy {
  /**
   * SentencePiece adds a space in front of the text when encoding
   * (`add_space_prefix`); decoding removes it again from the first visible
   * piece of the sequence and from the first visible piece after every BOS —
   * llama2.c run.c's rule ("following BOS token, sentencepiece decoder strips
   * any leading whitespace"). False for tokenizers that add no prefix.
   *
   * This deliberately differs from llama.cpp's `llama_detokenize`, which
   * strips only when the very first token is text: it turns [BOS, '▁Hello']
   * into ' Hello' (the strip is spent on the invisible BOS) and never strips
   * after a BOS later on. With llama2.c's rule decode(encode(text)) == text
   * with or without BOS, and a streamed document after a mid-stream BOS
   * starts cleanly. Sequences without BOS decode exactly as in llama.cpp.
   */
  stripAfterStart: boolean;
  bos?: number | undefined;
}

const SPACE = 0x20;
const EMPTY = new Uint8Array(0);

/**
 * Token-by-token byte producer. It tracks only whether the next visible piece
 * should lose a leading space, which is the single piece of context that
 * SentencePiece detokenization needs.
 */
export class PieceStepper {
  private stripNext: boolean;

  constructor(
    private readonly src: PieceSource,
    private readonly policy: LeadingSpacePolicy,
    private readonly skipSpecial: boolean,
  ) {
    this.stripNext = policy.stripAfterStart;
  }

  next(id: number): Uint8Array {
    const bytes = this.src.piece(id, this.skipSpecial);
    if (id === this.policy.bos) {
      // BOS starts a new document, whether or not it renders as text.
      this.stripNext = this.policy.stripAfterStart;
      return bytes;
    }
    // Invisible tokens (control tokens, unused ids) leave the state alone, so
    // `<s>▁Hello` and `▁Hello` both decode to 'Hello'.
    if (bytes.length === 0) return EMPTY;
    if (this.stripNext) {
      this.stripNext = false;
      if (bytes[0] === SPACE) return bytes.subarray(1);
    }
    return bytes;
  }
}

function newUtf8Decoder() {
  // ignoreBOM: a text that starts with U+FEFF must survive a round trip.
  return new TextDecoder('utf-8', { ignoreBOM: true });
}

/** Decodes a whole sequence at once. Invalid UTF-8 becomes U+FFFD. */
export function detokenize(src: PieceSource, policy: LeadingSpacePolicy, ids: readonly number[], skipSpecial: boolean): string {
  const stepper = new PieceStepper(src, policy, skipSpecial);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const id of ids) {
    const p = stepper.next(id);
    if (p.length > 0) {
      parts.push(p);
      total += p.length;
    }
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return newUtf8Decoder().decode(all);
}

/**
 * Streaming version of `detokenize`. TextDecoder's `stream` mode holds back an
 * incomplete trailing sequence and emits exactly what a one-shot decode of the
 * concatenated bytes would, so joining the chunks always equals `decode(ids)`.
 */
export class Utf8StreamDecoder implements StreamDecoder {
  private readonly stepper: PieceStepper;
  private readonly utf8 = newUtf8Decoder();

  constructor(src: PieceSource, policy: LeadingSpacePolicy, skipSpecial: boolean) {
    this.stepper = new PieceStepper(src, policy, skipSpecial);
  }

  push(id: number): string {
    const bytes = this.stepper.next(id);
    if (bytes.length === 0) return '';
    return this.utf8.decode(bytes, { stream: true });
  }

  flush(): string {
    // A final call without `stream` flushes leftovers as U+FFFD and resets.
    return this.utf8.decode();
  }
}
