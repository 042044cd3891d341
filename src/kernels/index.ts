export type { Ops, WeightMatrix, RopeSpec, RopeStyle, Q8Activations, KvArray, KvRun } from './types.js';
export { quantizesActivations } from './types.js';
export { ScalarOps, scalarOps } from './scalar.js';
export type { ScalarOpsOptions } from './scalar.js';
export { ropeSpec } from './rope.js';
export type { RopeParams } from './rope.js';
export { createWasmOps, WasmOps, WASM_TYPES, readKernelBytes, kernelModule, relaxedSimdSupported, resolveKernelVariant } from './wasm/index.js';
export type { WasmOpsOptions, WorkerFault } from './wasm/index.js';
