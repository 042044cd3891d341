export { createWasmOps, WasmOps, WASM_TYPES } from './ops.js';
export type { WasmOpsOptions } from './ops.js';
export type { WorkerFault } from './pool.js';
export { readKernelBytes, kernelModule, relaxedSimdSupported, resolveKernelVariant } from './module.js';
export type { KernelChoice, KernelVariant } from './module.js';
