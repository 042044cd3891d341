export type { ArchName, Hparams, RopeHparams, Model, ForwardOptions, TensorHook, ArchModule, TensorSpec, LoadedWeights, TensorDesc, TensorSource } from './types.js';
export { ARCHS } from './registry.js';
export { loadWeights } from './load.js';
export type { WeightLoadOptions } from './load.js';
export { llamaHparamsFromGguf, llamaGgufMetadata, llama2cHparams, validateHparams, archOf, KNOWN_ARCHS } from './hparams.js';
export type { MetadataReader } from './hparams.js';
