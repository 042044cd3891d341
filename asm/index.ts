/**
 * streamllm's WebAssembly SIMD128 kernels (AssemblyScript). Built by
 * `npm run build:wasm` into dist/kernels/kernels.wasm; driven from
 * src/kernels/wasm/. The module imports one shared memory and allocates
 * nothing: every pointer comes from the JS-side allocator.
 */
export { matmulRange, scratchBytes, exec } from './exec';
export { quantizeAct, dequantAct } from './act';
export { setHalfTable } from './common';
export { rmsnorm, layernorm, softmax, add, swiglu, gelu, ropeTokens, dotRows, axpyRows } from './vector';
export { dequantRow } from './dequant';

/** First byte the JS allocator may use (after this module's static data, if any). */
export function heapBase(): usize {
  return __heap_base;
}
export { attendHeads } from './attention';
export { dotRowsH, axpyRowsH, storeF16, loadF16 } from './half-kv';
export { packedRows, packScratchBytes, packMatrix, dequantPacked } from './packed';
