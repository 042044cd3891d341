/** Cache policies by name: the CLI and the runtime build caches only through here. */
import { StreamLlmError } from '../errors.js';
import type { Ops } from '../kernels/types.js';
import { DenseCache } from './dense.js';
import type { CacheGeometry, KvCache } from './types.js';

export type CacheOptions = { readonly policy: 'dense'; readonly allowOverflow?: boolean };

export function createCache(opts: CacheOptions, geometry: CacheGeometry, ops: Ops): KvCache {
  switch (opts.policy) {
    case 'dense':
      return new DenseCache(geometry, ops, { allowOverflow: opts.allowOverflow ?? false });
    default:
      throw new StreamLlmError('BAD_ARGUMENT', `unknown cache policy '${(opts as { policy: string }).policy}'`, {
        context: { field: 'policy' },
        hint: 'available: dense',
      });
  }
}
