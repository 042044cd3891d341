export { Session } from './session.js';
export type { SessionOptions, GenerateOptions } from './session.js';
export { loadModel, openModel, detectFormat, llama2cTokenizer, SINK_TOKEN_KEY } from './load.js';
export type { LoadOptions, LoadedModel, ModelFormat, OpenOptions, OpenedModel } from './load.js';
export { createOps } from './engine.js';
export type { EngineName, EngineOptions, ClosableOps } from './engine.js';
