/**
 * Tokenizers: the shared `Tokenizer` contract, SentencePiece BPE (Llama,
 * Mistral, Phi-3, llama2.c), byte-level BPE (GPT-2, GPT-NeoX, MPT, Falcon,
 * StarCoder, DeepSeek, Qwen2, Llama 3) and loading from GGUF metadata.
 * llama2.c's tokenizer.bin reader lives in formats/llama2c/tokenizer.ts.
 */
export { TokenType, type TokenTypeValue, type Tokenizer, type StreamDecoder, type EncodeOptions, type DecodeOptions } from './types.js';
export { SPM_SPACE, validateSpmVocab, spmVocabToGgufMetadata, type SpmVocab } from './spm-vocab.js';
export { SpmTokenizer } from './spm.js';
export { validateBpeVocab, bpeVocabToGgufMetadata, type BpeVocab } from './bpe-vocab.js';
export { BpeTokenizer, cleanUpSpaces, type BpeDecodeOptions } from './bpe.js';
export { preTokenizer, SUPPORTED_PRE_TOKENIZERS, type PreTokenizer } from './bpe-pretokenize.js';
export { BYTE_TO_CHAR, bytesToByteLevel } from './byte-unicode.js';
export { bpeVocabFromGguf } from './bpe-from-gguf.js';
export { spmVocabFromGguf, tokenizerFromGguf, type GgufMetadataSource } from './from-gguf.js';
export { vocabFromHf, tokenizerFromHf, hfVocabToGgufMetadata, readHfTokenizerFiles, type HfTokenizerFiles, type HfTokenizerOptions, type HfVocab } from './from-hf.js';
