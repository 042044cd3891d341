export type { KvCache, CacheGeometry, CacheStats, CachePolicyName, Positional, CacheFactory } from './types.js';
export { DenseCache } from './dense.js';
export type { DenseOptions } from './dense.js';
export { createCache } from './registry.js';
export type { CacheOptions } from './registry.js';
