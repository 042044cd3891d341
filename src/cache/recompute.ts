/**
 * Sliding window with re-computation, the paper's quality and speed baseline:
 * for every new token the last L tokens are run again from an empty cache, at
 * positions 0..L-1. Exact for what it is (no token ever attends to anything
 * outside its own window), and O(L) forward work per token — which is the
 * point of the comparison with StreamingLLM.
 *
 * A cache cannot re-run a model by itself, so this policy exposes
 * `replayWindow`: the runtime pushes each token and re-feeds the returned
 * window through the model, with this object as its (dense) cache.
 */
import { StreamLlmError } from '../errors.js';
import type { Ops } from '../kernels/types.js';
import { DenseCache } from './dense.js';
import type { CacheGeometry, CacheStats, KvCache, KvType } from './types.js';

export class RecomputeCache implements KvCache {
  readonly policy = 'recompute' as const;
  private readonly inner: DenseCache;
  private readonly ring: Int32Array; // the last L token ids
  private seen = 0;

  constructor(
    readonly geometry: CacheGeometry,
    ops: Ops,
    private readonly L: number,
    allowOverflow = false,
    kvType: KvType = 'f32',
  ) {
    if (!(Number.isInteger(L) && L >= 1 && L <= 1 << 24)) {
      throw new StreamLlmError('BAD_ARGUMENT', `window must be an integer ≥ 1, got ${L}`, { context: { field: 'window', actual: L } });
    }
    if (L > geometry.contextLength && !allowOverflow) {
      throw new StreamLlmError('CONTEXT_OVERFLOW', `a recompute window of ${L} exceeds the model's training length ${geometry.contextLength}`, {
        context: { field: 'window', expected: geometry.contextLength, actual: L },
        hint: `use --window ${geometry.contextLength} or less`,
      });
    }
    this.inner = new DenseCache({ ...geometry, contextLength: L }, ops, { kvType });
    this.ring = new Int32Array(L);
  }

  get bytes(): number {
    return this.inner.bytes + this.ring.byteLength;
  }

  /**
   * Push `token` and return the window to feed from an empty cache (this
   * cache is emptied here). Its last logits are the next-token logits.
   */
  replayWindow(token: number): number[] {
    this.ring[this.seen % this.L] = token;
    this.seen++;
    const n = Math.min(this.seen, this.L);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.ring[(this.seen - n + i) % this.L]!;
    this.inner.reset();
    return out;
  }

  begin(n: number): void {
    this.inner.begin(n);
  }

  attend(layer: number, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array): void {
    this.inner.attend(layer, q, k, v, out);
  }

  end(): void {
    this.inner.end();
  }

  reset(): void {
    this.inner.reset();
    this.seen = 0;
  }

  stats(): CacheStats {
    return {
      policy: 'recompute',
      tokensSeen: this.seen,
      length: Math.min(this.seen, this.L),
      capacity: this.L,
      sinks: 0,
      windowFill: Math.min(this.seen, this.L),
      evictions: Math.max(0, this.seen - this.L),
    };
  }
}
