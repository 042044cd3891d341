export { Llama2cCheckpoint, parseLlama2cHeader, looksLikeLlama2c, LLAMA2C_MAGIC } from './checkpoint.js';
export type { Llama2cConfig } from './checkpoint.js';
export { parseLlama2cTokenizer, readLlama2cTokenizer } from './tokenizer.js';
export type { Llama2cTokenizerOptions } from './tokenizer.js';
