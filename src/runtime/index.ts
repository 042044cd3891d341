export { Session } from './session.js';
export type { SessionOptions, GenerateOptions } from './session.js';
export { loadModel, detectFormat, llama2cTokenizer, SINK_TOKEN_KEY } from './load.js';
export type { LoadOptions, LoadedModel, ModelFormat } from './load.js';
