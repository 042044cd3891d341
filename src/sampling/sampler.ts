/**
 * The token sampler: logits (+ history) -> one token id.
 *
 * The chain is llama.cpp's default order:
 *
 *   penalties -> top-k -> top-p -> min-p -> temperature -> draw
 *
 * so top-p and min-p judge the distribution at temperature 1, and temperature
 * only reshapes what survived. temperature = 0 is greedy: argmax of the
 * penalized logits, ties to the lowest id, no random number consumed. Every
 * other call consumes exactly one `nextFloat()`, however many candidates
 * survive, so the random stream stays aligned across settings that differ
 * only in filtering.
 *
 * Cost per token: one copy of the row, O(window) for penalties, one pass for
 * the max, O(V) typical for top-k (a heap of k, or a histogram for k > 1024)
 * and for top-p without top-k (a histogram; see select.ts). Sorting touches
 * only the survivors. The four vocab-sized scratch buffers live in the
 * instance and are reused, so a decode loop allocates nothing per token.
 */
import { StreamLlmError, requireArg } from '../errors.js';
import { rejectBadLogit } from './math.js';
import { penaltiesActive, resolveSamplerOptions } from './options.js';
import type { ResolvedSamplerOptions, SamplerOptions } from './options.js';
import { penalizeInPlace } from './penalties.js';
import { SeededRng, randomSeed } from './rng.js';
import type { RandomSource } from './rng.js';
import {
  HEAP_MAX_K,
  TOP_P_BUCKETS,
  gatherFinite,
  minPFilter,
  minPFloor,
  selectTopK,
  selectTopKWide,
  topPFilter,
} from './select.js';
import type { SelectScratch } from './select.js';

/** One surviving token and its final probability (see `Sampler.candidates`). */
export interface Candidate {
  id: number;
  p: number;
}

const EMPTY_HISTORY: ArrayLike<number> = [];

/**
 * Seeded, reusable sampler. Options are validated here, once; `sample` only
 * checks the data it is given.
 *
 * @example
 * const sampler = new Sampler({ temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05,
 *                               repeatPenalty: 1.1, seed: 1234 });
 * const history: number[] = [...promptTokens];
 * for (let i = 0; i < 100; i++) {
 *   const logits = model.forward(history.at(-1)!); // Float32Array(vocab)
 *   const token = sampler.sample(logits, history);
 *   history.push(token);
 * }
 */
export class Sampler {
  /** The validated options with defaults filled in. */
  readonly options: ResolvedSamplerOptions;
  /** Set once the source exists: the injected one, or a SeededRng (see `seed`). */
  private rng: RandomSource | undefined;
  private seedValue: number | undefined;
  private readonly greedy: boolean;
  /** Whether sample() reads the token history (some penalty is active). */
  readonly usesHistory: boolean;
  // Vocab-sized scratch, (re)allocated when the vocabulary size changes.
  private work = new Float32Array(0); // (vocab) penalized copy of the caller's logits
  private idx = new Int32Array(0); // (vocab) candidate ids; also top-k's heap
  private weights = new Float64Array(0); // (vocab) unnormalized final probs of idx[j]
  private counts = new Uint32Array(0); // (vocab) history counts; all zero between calls
  private scratch: SelectScratch = {
    bits: new Uint32Array(0), // (vocab) view on `work`
    keys: new Float64Array(0), // (vocab) shares `weights`, free until the draw
    hist: new Float64Array(TOP_P_BUCKETS),
  };
  private total = 0; // sum of weights[0..n) from the last prepare()

  /**
   * @param opts sampling parameters; throws BAD_ARGUMENT naming the first bad one.
   * @param rng optional random source to use instead of a seeded xoshiro128**
   *   (for tests, or to share one stream); do not combine with `opts.seed`.
   */
  constructor(opts: SamplerOptions = {}, rng?: RandomSource) {
    this.options = Object.freeze(resolveSamplerOptions(opts));
    this.greedy = this.options.temperature === 0;
    this.usesHistory = penaltiesActive(this.options);
    if (rng !== undefined) {
      requireArg(this.options.seed === undefined, 'pass either seed or rng, not both', { field: 'seed' });
      requireArg(typeof rng.nextFloat === 'function', 'rng must have a nextFloat() method', { field: 'rng' });
      this.rng = rng;
    }
  }

  /**
   * The seed in use: the one given, or the fresh random one drawn when none
   * was (log it to replay the run). Undefined when an RNG was injected.
   * Drawn on first use, not at construction: a greedy sampler never needs
   * one, and the platform's crypto source costs a process ~2.3 MiB of RSS
   * the first time it is touched (`bench/rss-breakdown.ts` on `node -e`).
   */
  get seed(): number | undefined {
    this.source();
    return this.seedValue;
  }

  private source(): RandomSource {
    if (this.rng === undefined) {
      this.seedValue = this.options.seed ?? randomSeed();
      this.rng = new SeededRng(this.seedValue);
    }
    return this.rng;
  }

  /**
   * Picks the next token. `logits` (one row, length = vocabulary size) is not
   * modified. `history` is the token sequence so far (prompt included, as in
   * llama.cpp); only its last `penaltyLastN` entries are read, and only when
   * a penalty is active.
   *
   * Throws BAD_ARGUMENT for an empty row, a NaN or +Infinity logit, a row
   * with no finite logit (after penalties), or a history entry that is not a
   * token id below the vocabulary size.
   */
  sample(logits: Float32Array, history: ArrayLike<number> = EMPTY_HISTORY): number {
    const n = this.prepare(logits, history);
    if (this.greedy) return this.idx[0]!;
    const r = this.source().nextFloat() * this.total;
    const idx = this.idx;
    const w = this.weights;
    let cum = 0;
    let last = idx[0]!;
    for (let j = 0; j < n; j++) {
      const wj = w[j]!;
      cum += wj;
      if (r < cum) return idx[j]!;
      if (wj > 0) last = idx[j]!;
    }
    // r < total, so only rounding in the running sum can land here
    return last;
  }

  /**
   * The tokens that survive the filters for this row and their final
   * probabilities (after temperature), most likely first, ties by lower id.
   * Consumes no randomness. For logprob displays and tests; allocates.
   *
   * @example
   * new Sampler({ topK: 2, seed: 0 }).candidates(new Float32Array([0, 1, 2]));
   * // [{ id: 2, p: 0.731... }, { id: 1, p: 0.268... }]
   */
  candidates(logits: Float32Array, history: ArrayLike<number> = EMPTY_HISTORY): Candidate[] {
    const n = this.prepare(logits, history);
    const out: Candidate[] = [];
    for (let j = 0; j < n; j++) out.push({ id: this.idx[j]!, p: this.weights[j]! / this.total });
    return out.sort((a, b) => b.p - a.p || a.id - b.id);
  }

  /**
   * Runs the chain up to the draw: leaves the n candidates in idx[0..n), their
   * unnormalized probabilities in weights[0..n) and the sum in `total`.
   */
  private prepare(logits: Float32Array, history: ArrayLike<number>): number {
    // Checked with plain ifs: this runs once per token, and requireArg's context object would be garbage.
    if (!(logits instanceof Float32Array)) requireArg(false, 'logits must be a Float32Array', { field: 'logits' });
    const vocab = logits.length;
    if (vocab === 0) requireArg(false, 'logits must not be empty', { field: 'logits', actual: vocab });
    this.reserve(vocab);
    // Greedy without penalties only reads the logits: skip the copy (a vocabulary's worth per token).
    const inPlace = this.greedy && !this.usesHistory;
    const work = inPlace ? logits : this.work;
    if (!inPlace) work.set(logits);
    if (this.usesHistory) penalizeInPlace(work, history, this.options, this.counts);

    // One pass for validation, the max and the greedy answer.
    let best = 0;
    let maxLogit = -Infinity;
    for (let i = 0; i < vocab; i++) {
      const v = work[i]!;
      if (v > maxLogit) {
        if (v === Infinity) this.badLogit(logits, i);
        maxLogit = v;
        best = i;
      } else if (v !== v) {
        this.badLogit(logits, i);
      }
    }
    if (maxLogit === -Infinity) {
      throw new StreamLlmError('BAD_ARGUMENT', 'logits are all -Infinity: no token can be sampled', {
        context: { field: 'logits', actual: vocab },
        hint: 'check logit biases or grammar masks that ban tokens',
      });
    }

    const o = this.options;
    const idx = this.idx;
    let n: number;
    let sorted: boolean;
    if (this.greedy || o.topK === 1) {
      idx[0] = best;
      n = 1;
      sorted = true;
    } else if (o.topK > 0 && o.topK < vocab) {
      n =
        o.topK <= HEAP_MAX_K
          ? selectTopK(work, o.topK, idx, this.scratch)
          : selectTopKWide(work, o.topK, idx, maxLogit, this.scratch);
      sorted = true;
    } else {
      n = gatherFinite(work, idx);
      sorted = false;
    }
    const floor = minPFloor(o.minP, maxLogit);
    if (n > 1 && o.topP < 1) n = topPFilter(work, idx, n, sorted, o.topP, maxLogit, floor, this.scratch);
    else if (n > 1 && o.minP > 0) n = minPFilter(work, idx, n, sorted, floor);

    // Temperature, relative to the max so exp() cannot overflow; the max
    // itself is always a candidate with weight exactly 1. Divide rather than
    // multiply by 1/T: for a subnormal T, 1/T is Infinity and 0 * Infinity NaN.
    const w = this.weights;
    const t = this.greedy ? 1 : o.temperature;
    let total = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp((work[idx[j]!]! - maxLogit) / t);
      w[j] = e;
      total += e;
    }
    this.total = total;
    return n;
  }

  private reserve(vocab: number): void {
    if (this.work.length === vocab) return;
    this.work = new Float32Array(vocab);
    this.idx = new Int32Array(vocab);
    this.weights = new Float64Array(vocab);
    this.counts = this.usesHistory ? new Uint32Array(vocab) : new Uint32Array(0);
    this.scratch.bits = new Uint32Array(this.work.buffer);
    this.scratch.keys = this.weights;
  }

  /** Blames the caller's row if the bad value came in, else the penalties. */
  private badLogit(logits: Float32Array, i: number): never {
    const v = logits[i]!;
    if (v !== v || v === Infinity) rejectBadLogit(v, i);
    throw new StreamLlmError('BAD_ARGUMENT', `penalties turned logit ${i} (${v}) into ${this.work[i]}`, {
      context: { field: 'logits', index: i, actual: this.work[i] },
      hint: 'frequencyPenalty/presencePenalty are too large in magnitude',
    });
  }
}
