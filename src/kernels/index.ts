export type { Ops, WeightMatrix, RopeSpec, RopeStyle } from './types.js';
export { ScalarOps, scalarOps } from './scalar.js';
export { ropeSpec } from './rope.js';
export type { RopeParams } from './rope.js';
