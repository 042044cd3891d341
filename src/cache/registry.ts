/** Cache policies by name: the CLI and the runtime build caches only through here. */
import { StreamLlmError } from '../errors.js';
import type { Ops } from '../kernels/types.js';
import { kvTypeOf } from './attend.js';
import { DenseCache } from './dense.js';
import { RecomputeCache } from './recompute.js';
import { StreamingCache } from './streaming.js';
import type { CacheGeometry, CachePolicyName, KvCache, KvType } from './types.js';

interface CommonCacheOptions {
  /** Continue past the model's training length. */
  readonly allowOverflow?: boolean;
  /** Stored keys/values: 'f16' (half the memory and bytes read) or 'f32' (default: exact). */
  readonly kvType?: KvType;
}

export type CacheOptions =
  /** Every token at its original position; stops at the training length unless allowOverflow. */
  | ({ readonly policy: 'dense' } & CommonCacheOptions)
  /** The last `window` tokens, positions inside the cache. */
  | ({ readonly policy: 'window'; readonly window?: number } & CommonCacheOptions)
  /** StreamingLLM: `sinks` first tokens + the last `window` (default 4 + the rest of the training length). */
  | ({ readonly policy: 'sink'; readonly sinks?: number; readonly window?: number } & CommonCacheOptions)
  /** Re-run the last `window` tokens from scratch for every token (the paper's baseline). */
  | ({ readonly policy: 'recompute'; readonly window?: number } & CommonCacheOptions);

export const CACHE_POLICIES: readonly CachePolicyName[] = ['sink', 'window', 'dense', 'recompute'];
export const DEFAULT_SINKS = 4;

/**
 * Build a cache for a model's geometry. Windows default to what fits the
 * training length, so in-cache positions never leave the trained range.
 * @example
 * const cache = createCache({ policy: 'sink', sinks: 4, window: 1020 }, model.geometry, ops);
 */
export function createCache(opts: CacheOptions, geometry: CacheGeometry, ops: Ops): KvCache {
  const ctx = geometry.contextLength;
  const overflow = opts.allowOverflow === true;
  const kvType = kvTypeOf(opts.kvType);
  switch (opts.policy) {
    case 'dense':
      return new DenseCache(geometry, ops, { allowOverflow: overflow, kvType });
    case 'window':
      return new StreamingCache(geometry, ops, { policy: 'window', sinks: 0, window: opts.window ?? ctx, allowOverflow: overflow, kvType });
    case 'sink': {
      const sinks = opts.sinks ?? DEFAULT_SINKS;
      const window = opts.window ?? Math.max(1, ctx - sinks);
      return new StreamingCache(geometry, ops, { policy: 'sink', sinks, window, allowOverflow: overflow, kvType });
    }
    case 'recompute':
      return new RecomputeCache(geometry, ops, opts.window ?? ctx, overflow, kvType);
    default:
      throw new StreamLlmError('BAD_ARGUMENT', `unknown cache policy '${(opts as { policy: string }).policy}'`, {
        context: { field: 'policy' },
        hint: `available: ${CACHE_POLICIES.join(', ')}`,
      });
  }
}
