export { GgmlType, SUPPORTED_TYPES, typeTraits, typeName, rowBytes } from './dtype.js';
export type { TypeTraits } from './dtype.js';
export { f16ToF32, f32ToF16, bf16ToF32, f32ToBf16, halfTableF32 } from './half.js';
export { dequantize, quantize, QK } from './quant.js';
export { dequantizeQ4K, dequantizeQ6K, quantizeQ4K, quantizeQ6K, QK_K } from './kquant.js';
export { quantizeActQ8_0, quantizeActQ8K } from './q8.js';
