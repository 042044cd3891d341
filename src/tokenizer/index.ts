/**
 * Tokenizers: the shared `Tokenizer` contract, SentencePiece BPE (Llama,
 * Mistral, Phi-3, llama2.c) and loading from GGUF metadata.
 * llama2.c's tokenizer.bin reader lives in formats/llama2c/tokenizer.ts.
 */
export { TokenType, type TokenTypeValue, type Tokenizer, type StreamDecoder, type EncodeOptions, type DecodeOptions } from './types.js';
export { SPM_SPACE, validateSpmVocab, spmVocabToGgufMetadata, type SpmVocab } from './spm-vocab.js';
export { SpmTokenizer } from './spm.js';
export { spmVocabFromGguf, tokenizerFromGguf, type GgufMetadataSource } from './from-gguf.js';
