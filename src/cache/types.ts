/**
 * The one seam between a model and its KV cache.
 *
 * A model hands the cache *un-positioned* queries and keys; the policy decides
 * which tokens stay and at which positions they are seen (StreamingLLM assigns
 * positions inside the cache, not in the text), so position encoding happens
 * here, behind the seam. Models never know the policy; policies never know the
 * architecture — only this geometry.
 */
import type { Ops, RopeSpec } from '../kernels/types.js';

export type Positional =
  | { readonly kind: 'rope'; readonly spec: RopeSpec }
  /** ALiBi: score += -slope[h] * distance(query, key). */
  | { readonly kind: 'alibi'; readonly slopes: Float32Array }
  | { readonly kind: 'none' };

export interface CacheGeometry {
  readonly layers: number;
  readonly nHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly positional: Positional;
  /** The model's training context length. */
  readonly contextLength: number;
  /** Attention logit scale; 1/sqrt(headDim) unless the architecture says otherwise. */
  readonly scale: number;
}

export type CachePolicyName = 'dense' | 'window' | 'sink' | 'recompute';

/**
 * Element type of the cached keys/values. 'f16' (IEEE half, llama.cpp's
 * default) halves the cache's memory and the bytes attention reads per
 * token; 'f32' keeps them exactly as computed (the choice for comparisons
 * against float references).
 */
export type KvType = 'f32' | 'f16';
export const KV_TYPES: readonly KvType[] = ['f16', 'f32'];
/** What a cache stores when kvType is not given. */
export const DEFAULT_KV_TYPE: KvType = 'f32';

export interface CacheStats {
  readonly policy: CachePolicyName;
  /** Tokens ever committed to this cache. */
  readonly tokensSeen: number;
  /** Tokens currently held (what the next query attends to, besides itself). */
  readonly length: number;
  /** Maximum tokens held, or Infinity for an unbounded dense cache. */
  readonly capacity: number;
  readonly sinks: number;
  readonly windowFill: number;
  readonly evictions: number;
}

export interface KvCache {
  readonly policy: CachePolicyName;
  readonly geometry: CacheGeometry;
  /**
   * Announce a batch of `n` new tokens before layer 0. Throws (and changes
   * nothing) if the policy cannot take them, e.g. dense past the context length.
   */
  begin(n: number): void;
  /**
   * Attention for one layer of the announced batch.
   * q: (n, nHeads * headDim), k and v: (n, kvHeads * headDim), all before any
   * position encoding; the cache may overwrite q, k and v (rotated in place,
   * rounded as stored). out: (n, nHeads * headDim).
   */
  attend(layer: number, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array): void;
  /** Commit the batch after the last layer: counters advance, old tokens may be evicted. */
  end(): void;
  /** Forget everything. */
  reset(): void;
  stats(): CacheStats;
  /** Bytes of K/V storage currently allocated. */
  readonly bytes: number;
  /**
   * Only for policies that cannot update incrementally (recompute): push one
   * token, get the token window the runtime must re-feed from an empty cache.
   */
  replayWindow?(token: number): number[];
}

/** Builds a cache for a geometry; returned by the policy registry. */
export type CacheFactory = (geometry: CacheGeometry, ops: Ops) => KvCache;
