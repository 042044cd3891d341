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
  /** Default: StreamingLLM with 4 sinks and a window filling the training length. */
  readonly cache?: CacheOptions;
  readonly sampling?: SamplerOptions;
  /** Most tokens per forward pass during prefill; bounds activation memory. */
  readonly batchSize?: number;
  /**
   * A dedicated sink token (paper §3.3), for models pre-trained with one: it
   * is prepended once to the stream and kept as the only sink.
   */
  readonly sinkToken?: number;
}

export interface GenerateOptions {
  /** Tokens to generate; Infinity means forever. */
  readonly maxTokens: number;
  /** Stop before emitting a token for which this returns true (e.g. EOS). */
  readonly stopAt?: (id: number) => boolean;
  readonly signal?: AbortSignal;
}

/** Tokens of history kept for repetition penalties: bounded, whatever the stream length. */
const HISTORY_CAP = 4096;
const EMPTY_HISTORY = new Int32Array(0);
/** Forward options, shared so a decode step allocates none. */
const FORWARD = { last: { logits: 'last' }, all: { logits: 'all' }, none: { logits: 'none' } } as const;

/**
 * The last HISTORY_CAP token ids, contiguous and allocation-free: every id is
 * written twice, at i and i + CAP, so the most recent `len` ids are always the
 * slice ending at head + CAP.
 */
class TokenHistory {
  private readonly buf = new Int32Array(2 * HISTORY_CAP);
  private head = 0;
  private len = 0;
  private view: Int32Array = this.buf.subarray(0, 0);
  private stale = false;

  push(id: number): void {
    this.buf[this.head] = id;
    this.buf[this.head + HISTORY_CAP] = id;
    this.head = (this.head + 1) % HISTORY_CAP;
    if (this.len < HISTORY_CAP) this.len++;
    this.stale = true; // the view is rebuilt only when someone reads it
  }

  recent(): Int32Array {
    if (this.stale) {
      this.view = this.buf.subarray(this.head + HISTORY_CAP - this.len, this.head + HISTORY_CAP);
      this.stale = false;
    }
    return this.view;
  }

  clear(): void {
    this.head = 0;
    this.len = 0;
    this.stale = true;
  }
}

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
  private readonly history = new TokenHistory();
  private closed = false;
  private readonly sinkToken: number | undefined;
  private started = false;
  private readonly one = [0]; // reused single-token batch: decode steps allocate nothing

  constructor(
    readonly model: Model,
    ops: Ops,
    opts: SessionOptions = {},
  ) {
    const batch = opts.batchSize ?? 64;
    requireArg(Number.isInteger(batch) && batch >= 1 && batch <= 65536, `batchSize must be an integer in 1..65536, got ${batch}`, { field: 'batchSize' });
    this.batchSize = batch;
    const vocab = model.hparams.vocabSize;
    if (opts.sinkToken !== undefined) {
      requireArg(Number.isInteger(opts.sinkToken) && opts.sinkToken >= 0 && opts.sinkToken < vocab, `sinkToken ${opts.sinkToken} is outside the vocabulary 0..${vocab - 1}`, {
        field: 'sinkToken',
      });
      const c = opts.cache;
      requireArg(c === undefined || (c.policy === 'sink' && (c.sinks === undefined || c.sinks === 1)), 'a dedicated sink token is the only sink: use the sink policy with 1 sink', {
        field: 'sinkToken',
      });
    }
    this.sinkToken = opts.sinkToken;
    const cacheOpts: CacheOptions =
      opts.sinkToken !== undefined ? { ...(opts.cache ?? {}), policy: 'sink', sinks: 1 } : (opts.cache ?? { policy: 'sink' });
    this.cache = createCache(cacheOpts, model.geometry, ops);
    this.sampler = new Sampler(opts.sampling ?? {});
    this.next = new Float32Array(vocab);
  }

  /** Feed tokens (a prompt or a stream chunk) in batches; afterwards `logits()` is the next-token distribution. */
  prefill(tokens: ArrayLike<number>): void {
    this.evaluate(tokens);
  }

  /**
   * Feed tokens and report the next-token logits after each of them (for
   * perplexity). `onLogits(i, row)` gets a view valid only during the call.
   * Without a callback, only the last position's logits are computed.
   */
  evaluate(tokens: ArrayLike<number>, onLogits?: (index: number, logits: Float32Array) => void): void {
    this.checkOpen();
    this.flushPending();
    this.checkTokens(tokens);
    if (!this.started && tokens.length > 0) {
      this.started = true;
      if (this.sinkToken !== undefined) this.feed([this.sinkToken], 'none');
    }
    for (let i = 0; i < tokens.length; i += this.batchSize) {
      const end = Math.min(tokens.length, i + this.batchSize);
      let chunk: number[];
      if (end - i === 1) {
        this.one[0] = tokens[i]!;
        chunk = this.one;
      } else {
        chunk = Array.prototype.slice.call(tokens, i, end) as number[];
      }
      const mode = onLogits !== undefined ? 'all' : end === tokens.length ? 'last' : 'none';
      const out = this.feed(chunk, mode);
      const V = this.next.length;
      if (onLogits !== undefined) for (let j = 0; j < chunk.length; j++) onLogits(i + j, out.subarray(j * V, (j + 1) * V));
      if (end === tokens.length) {
        this.next.set(out.length === V ? out : out.subarray(out.length - V));
        this.hasLogits = true;
      }
      this.remember(chunk);
    }
  }

  /** One forward over `chunk`; recompute-style caches re-feed their window per token. */
  private feed(chunk: number[], mode: 'last' | 'all' | 'none'): Float32Array {
    if (this.cache.replayWindow === undefined) return this.model.forward(chunk, this.cache, FORWARD[mode]);
    const V = this.next.length;
    const rows = mode === 'all' ? new Float32Array(chunk.length * V) : undefined;
    let last: Float32Array = new Float32Array(0);
    for (let j = 0; j < chunk.length; j++) {
      const win = this.cache.replayWindow(chunk[j]!);
      const need = mode === 'all' || (mode === 'last' && j === chunk.length - 1);
      last = this.model.forward(win, this.cache, { logits: need ? 'last' : 'none' });
      if (rows !== undefined) rows.set(last, j * V);
    }
    return rows ?? last;
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
    const logits = this.logits();
    // Only penalties read the history; skip building its view otherwise.
    return this.sampler.sample(logits, this.sampler.usesHistory ? this.history.recent() : EMPTY_HISTORY);
  }

  /** Sample one token and return it; it is fed before the next logits are read. */
  step(): number {
    const id = this.sample();
    this.pending = id;
    return id;
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

  /** Bytes of KV storage the cache holds now (bounded for the streaming policies). */
  get cacheBytes(): number {
    return this.cache.bytes;
  }

  /** Start over with an empty cache. */
  reset(): void {
    this.cache.reset();
    this.hasLogits = false;
    this.pending = -1;
    this.started = false;
    this.history.clear();
  }

  close(): void {
    this.closed = true;
    this.cache.reset();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private flushPending(): void {
    if (this.pending < 0) return;
    this.one[0] = this.pending;
    this.pending = -1;
    this.evaluate(this.one);
  }

  private checkTokens(tokens: ArrayLike<number>): void {
    const vocab = this.next.length;
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i]!;
      if (!(Number.isInteger(id) && id >= 0 && id < vocab)) {
        throw new StreamLlmError('TOKEN_OUT_OF_RANGE', `token ${id} at index ${i} is outside the vocabulary 0..${vocab - 1}`, {
          context: { actual: id, index: i },
        });
      }
    }
  }

  private remember(ids: number[]): void {
    for (let i = 0; i < ids.length; i++) this.history.push(ids[i]!);
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamLlmError('SESSION_CLOSED', 'session is closed');
  }
}
