/**
 * The tokenizer contract shared by every tokenizer family (SentencePiece BPE
 * now, byte-level BPE later). The runtime only talks to this interface.
 */

/**
 * llama.cpp's token types, as stored in GGUF `tokenizer.ggml.token_type`.
 * They decide how a token is matched in text and how it renders.
 */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type TokenTypeValue = (typeof TokenType)[keyof typeof TokenType];

export interface EncodeOptions {
  /** Prepend BOS. Defaults to the tokenizer's `addBos` (GGUF `add_bos_token`). */
  addBos?: boolean;
  /** Append EOS. Defaults to the vocabulary's `add_eos_token` (false for Llama). */
  addEos?: boolean;
  /**
   * Recognise control and unknown tokens (`<s>`, `<|end|>`, ...) written in the
   * text. Defaults to false so user text cannot inject them; user-defined
   * tokens are matched either way, as in llama.cpp.
   */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control and unknown tokens as nothing (default true) or as their text. */
  skipSpecial?: boolean;
}

/**
 * Incremental detokenizer for streaming generation. It never emits half a
 * UTF-8 character: bytes of an incomplete sequence (an emoji split over byte
 * tokens) wait in a buffer until the rest arrives.
 */
export interface StreamDecoder {
  /** Feed one token id; returns the text that became complete (maybe ''). */
  push(id: number): string;
  /** End of stream: returns what is left, with U+FFFD for an unfinished sequence. */
  flush(): string;
}

/**
 * @example
 *   const tok = tokenizerFromGguf(GgufFile.open('model.gguf'));
 *   const ids = tok.encode('Hello world');          // BOS added per the model
 *   const dec = tok.createStreamDecoder();
 *   for (const id of generated) process.stdout.write(dec.push(id));
 *   process.stdout.write(dec.flush());
 */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bos?: number;
  readonly eos?: number;
  /** Whether `encode` adds BOS unless told otherwise. */
  readonly addBos: boolean;
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** The bytes this token contributes to decoded text (empty for control tokens). */
  tokenPiece(id: number): Uint8Array;
  /** The token's vocabulary string, e.g. '▁Hello', '<0x0A>', '<s>'. */
  tokenText(id: number): string;
  isControl(id: number): boolean;
  /** End of generation: EOS and end-of-turn tokens such as `<|end|>`. */
  isEog(id: number): boolean;
  createStreamDecoder(opts?: DecodeOptions): StreamDecoder;
}
