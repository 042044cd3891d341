/** Building blocks the architecture files compose (see ../llama.ts for the smallest example). */
export { Decoder, ropePositional, alibiPositional, weightBytes } from './decoder.js';
export type { DecoderParts } from './decoder.js';
export { transformerBlock } from './block.js';
export type { BlockWeights, BlockOptions } from './block.js';
export { selfAttention } from './attention.js';
export type { AttentionWeights, AttentionOptions, QkvWeights, BlockContext } from './attention.js';
export { feedForward } from './ffn.js';
export type { FfnWeights } from './ffn.js';
export { applyNorm } from './norm.js';
export type { NormKind } from './norm.js';
export { linear, addBias, clamp } from './linear.js';
export { alibiSlopes } from './alibi.js';
export { geluGgml, applyGelu, f32ToF16Bits, f16BitsToF32 } from './gelu.js';
export { WeightReader, linearSpecs, normSpecs } from './weights.js';
export type { Linear, NormWeights } from './weights.js';
export { Scratch } from './scratch.js';
