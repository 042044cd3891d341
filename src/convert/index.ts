export { convertLlama2c, WEIGHT_TYPES } from './llama2c.js';
export type { ConvertLlama2cOptions, WeightType } from './llama2c.js';
export { writeRandomLlama, writeRandomModel, syntheticSpmVocab } from './random.js';
export type { RandomModelOptions } from './random.js';
export { convertHf } from './hf.js';
export type { ConvertHfOptions, ConvertHfResult } from './hf.js';
