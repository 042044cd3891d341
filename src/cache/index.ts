export type { KvCache, CacheGeometry, CacheStats, CachePolicyName, Positional, CacheFactory, KvType } from './types.js';
export { KV_TYPES, DEFAULT_KV_TYPE } from './types.js';
export { DenseCache } from './dense.js';
export type { DenseOptions } from './dense.js';
export { StreamingCache } from './streaming.js';
export type { StreamingOptions } from './streaming.js';
export { RecomputeCache } from './recompute.js';
export { createCache, CACHE_POLICIES, DEFAULT_SINKS } from './registry.js';
export type { CacheOptions } from './registry.js';
