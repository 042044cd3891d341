/**
 * A Session is one stream through a model: prefill → decode → sample, over a
 * KV cache built by the cache registry. It holds only bounded state (the
 * cache, one row of logits, a short token history for penalties), so an
 * endless stream runs in constant memory when the cache policy is bounded.
 */
import { createCache, type CacheOptions } from '../cache/registry.js';
import type { CacheStats, KvCache } from '../cache/types.js';
import { StreamLlmError, requireArg } from '../errors.js';
import type { Ops } from '../kernels/types.js';
import type { Model } from '../models/types.js';
import { Sampler, type SamplerOptions } from '../sampling/index.js';

export interface SessionOptions {
  readonly cache?: CacheOptions;
  readonly sampling?: SamplerOptions;
  /** Most tokens per forward pass during prefill; bounds activation memory. */
  readonly batchSize?: number;
}

export interface GenerateOptions {
  /** Tokens to generate; Infinity (or 0 from the CLI) means forever. */
  readonly maxTokens: number;
  /** Stop before emitting a token for which this returns true (e.g. EOS). */
  readonly stopAt?: (id: number) => boolean;
  readonly signal?: AbortSignal;
}

/** Tokens of history kept for repetition penalties: bounded, whatever the stream length. */
const HISTORY_CAP = 4096;

export class Session {
  readonly cache: KvCache;
  private readonly sampler: Sampler;
  private readonly batchSize: number;
  private readonly next: Float32Array; // (vocab) logits after the last fed token
  private hasLogits = false;
  /**
   * A sampled token not yet fed. Feeding is deferred until its logits are
   * needed, so generating N tokens costs N-1 forwards and the last token of
   * a full dense context can still be returned.
   */
  private pending = -1;
  private history: number[] = [];
  private closed = false;

  constructor(
    readonly model: Model,
    ops: Ops,
    opts: SessionOptions = {},
  ) {
    const batch = opts.batchSize ?? 64;
    requireArg(Number.isInteger(batch) && batch >= 1 && batch <= 65536, `batchSize must be an integer in 1..65536, got ${batch}`, { field: 'batchSize' });
    this.batchSize = batch;
    this.cache = createCache(opts.cache ?? { policy: 'dense' }, model.geometry, ops);
    this.sampler = new Sampler(opts.sampling ?? {});
    this.next = new Float32Array(model.hparams.vocabSize);
  }

  /** Feed tokens (a prompt or a stream chunk) in batches; afterwards `logits()` is the next-token distribution. */
  prefill(tokens: ArrayLike<number>): void {
    this.checkOpen();
    this.flushPending();
    const vocab = this.model.hparams.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i]!;
      if (!(Number.isInteger(id) && id >= 0 && id < vocab)) {
        throw new StreamLlmError('TOKEN_OUT_OF_RANGE', `token ${id} at index ${i} is outside the vocabulary 0..${vocab - 1}`, {
          context: { actual: id, index: i },
        });
      }
    }
    for (let i = 0; i < tokens.length; i += this.batchSize) {
      const end = Math.min(tokens.length, i + this.batchSize);
      const chunk = Array.prototype.slice.call(tokens, i, end) as number[];
      const out = this.model.forward(chunk, this.cache, { logits: end === tokens.length ? 'last' : 'none' });
      if (end === tokens.length) {
        this.next.set(out);
        this.hasLogits = true;
      }
      this.remember(chunk);
    }
  }

  /** Next-token logits after everything fed so far (a view: copy to keep). */
  logits(): Float32Array {
    this.checkOpen();
    this.flushPending();
    if (!this.hasLogits) {
      throw new StreamLlmError('BAD_ARGUMENT', 'no logits yet: prefill at least one token first', { hint: 'start with the BOS token' });
    }
    return this.next;
  }

  /** Sample the next token from the current logits (does not feed it). */
  sample(): number {
    return this.sampler.sample(this.logits(), this.history);
  }

  /** Sample one token and return it; it is fed before the next logits are read. */
  step(): number {
    const id = this.sample();
    this.pending = id;
    return id;
  }

  private flushPending(): void {
    if (this.pending < 0) return;
    const id = this.pending;
    this.pending = -1;
    this.prefill([id]);
  }

  /**
   * Generated tokens as an async iterator; yields to the event loop between
   * tokens so servers stay responsive.
   */
  async *generate(opts: GenerateOptions): AsyncGenerator<number, void, void> {
    const max = opts.maxTokens;
    requireArg(max === Infinity || (Number.isInteger(max) && max >= 0), `maxTokens must be a non-negative integer or Infinity, got ${max}`, {
      field: 'maxTokens',
    });
    for (let i = 0; i < max; i++) {
      if (opts.signal?.aborted === true) return;
      const id = this.sample();
      if (opts.stopAt?.(id) === true) return;
      this.pending = id;
      yield id;
      if (i % 16 === 15) await new Promise<void>((r) => setImmediate(r));
    }
  }

  stats(): CacheStats {
    return this.cache.stats();
  }

  /** Start over with an empty cache. */
  reset(): void {
    this.cache.reset();
    this.hasLogits = false;
    this.pending = -1;
    this.history = [];
  }

  close(): void {
    this.closed = true;
    this.cache.reset();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private remember(ids: number[]): void {
    for (const id of ids) this.history.push(id);
    if (this.history.length > 2 * HISTORY_CAP) this.history = this.history.slice(-HISTORY_CAP);
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamLlmError('SESSION_CLOSED', 'session is closed');
  }
}
