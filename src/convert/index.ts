export { convertLlama2c, WEIGHT_TYPES } from './llama2c.js';
export type { ConvertLlama2cOptions, WeightType } from './llama2c.js';
export { writeRandomLlama, writeRandomModel, syntheticSpmVocab } from './random.js';
export type { RandomModelOptions } from './random.js';
