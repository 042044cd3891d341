export type {
  ArchName,
  Hparams,
  HparamsOf,
  CommonHparams,
  LlamaHparams,
  Qwen2Hparams,
  GptNeoxHparams,
  FalconHparams,
  MptHparams,
  RopeHparams,
  Model,
  ForwardOptions,
  TensorHook,
  ArchModule,
  TensorSpec,
  LoadedWeights,
  TensorDesc,
  TensorSource,
  MetadataReader,
  BuildOptions,
  GeluMode,
} from './types.js';
export { ARCHS, KNOWN_ARCHS, archOf, archModule, hparamsFromGguf, ggufMetadataFor } from './registry.js';
export { loadWeights } from './load.js';
export type { WeightLoadOptions } from './load.js';
export { llama2cHparams, validateHparams } from './hparams.js';
export { llamaHparamsFromGguf, llamaGgufMetadata } from './llama.js';
export { alibiSlopes } from './layers/index.js';
export { openHfWeights, hparamsFromHfConfig, hfModelType, hfTokenizerHints, hfTensorMap, HfConfig, HfTensorSource, HF_MODEL_TYPES } from './hf/index.js';
export type { HfWeights, HfWeightsOptions, HfModelType, HfTensorMap } from './hf/index.js';
