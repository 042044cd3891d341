/**
 * streamllm: StreamingLLM (attention sinks) in TypeScript.
 * The root export is the everyday surface; sub-paths (`streamllm/formats/gguf`,
 * `streamllm/cache`, ...) expose each layer in full.
 */
export { StreamLlmError } from './errors.js';
export type { ErrorCode, ErrorContext } from './errors.js';
export { loadModel, openModel, createOps, Session } from './runtime/index.js';
export type { LoadOptions, LoadedModel, OpenOptions, OpenedModel, SessionOptions, GenerateOptions, ModelFormat, EngineOptions } from './runtime/index.js';
export type { Tokenizer, StreamDecoder } from './tokenizer/types.js';
export type { KvCache, CacheStats, CacheOptions } from './cache/index.js';
export type { SamplerOptions } from './sampling/index.js';
export type { Hparams, Model } from './models/types.js';
export { convertLlama2c } from './convert/index.js';
export { perplexity } from './eval/index.js';
export type { PerplexityResult, PerplexityOptions } from './eval/index.js';
export { createCache } from './cache/index.js';
