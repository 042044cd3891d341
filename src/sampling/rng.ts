/**
 * Seedable pseudo-random numbers for sampling.
 *
 * Generator: xoshiro128** 1.1 (Blackman & Vigna, 2018): 128 bits of state,
 * period 2^128 - 1, and nothing but 32-bit integer ops. Math.imul, shifts and
 * xors are exact in every JS engine, so a seed yields the same stream on
 * every platform. PCG32 would need 64-bit multiplies, which in JS means
 * BigInt on the hot path; xoshiro128** does not.
 *
 * Seeding: the seed (an integer in [0, 2^53]) is expanded by SplitMix64, the
 * seeder the xoshiro authors recommend. Two SplitMix64 outputs give the four
 * state words (low half first). SplitMix64 is a bijection on its counter, so
 * two consecutive outputs are never both zero, and the all-zero state, the
 * one state xoshiro cannot leave, cannot occur. BigInt appears only here, once
 * per generator, never per draw.
 */
import { requireArg } from '../errors.js';

/** What a sampler needs from a random source: uniform floats in [0, 1). */
export interface RandomSource {
  nextFloat(): number;
}

/** Largest accepted seed. Every integer up to here is exact in a double. */
export const MAX_SEED = 2 ** 53;

const MASK64 = (1n << 64n) - 1n;
const TWO_POW_26 = 2 ** 26;
const TWO_POW_53 = 2 ** 53;

/** Throws BAD_ARGUMENT unless `seed` is an integer in [0, 2^53]. */
export function validateSeed(seed: unknown, field = 'seed'): asserts seed is number {
  requireArg(
    typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED,
    `${field} must be an integer in [0, 2^53], got ${String(seed)}`,
    { field, actual: seed, expected: '[0, 2^53]' },
  );
}

/**
 * xoshiro128** generator (see the file header for why this one).
 *
 * @example
 * const rng = new SeededRng(42);
 * rng.nextU32();   // an integer in [0, 2^32)
 * rng.nextFloat(); // a float in [0, 1) with 53 random bits
 */
export class SeededRng implements RandomSource {
  // The four 32-bit state words, kept as plain numbers (unsigned) rather than
  // a Uint32Array: V8 keeps them in registers-friendly fields.
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number) {
    validateSeed(seed);
    let counter = BigInt(seed);
    const words: number[] = [];
    for (let i = 0; i < 2; i++) {
      counter = (counter + 0x9e3779b97f4a7c15n) & MASK64;
      let z = counter;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
      z ^= z >> 31n;
      words.push(Number(z & 0xffffffffn), Number(z >> 32n));
    }
    this.setState(words);
  }

  /**
   * A generator with exactly this state, bypassing SplitMix64. Meant for
   * checking against published xoshiro128** vectors; not all zero.
   */
  static fromState(state: ArrayLike<number>): SeededRng {
    const rng = new SeededRng(0);
    rng.setState(state);
    return rng;
  }

  /** The current state as four unsigned 32-bit words (for saving/resuming). */
  getState(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Restores a state from `getState()`. Throws BAD_ARGUMENT if invalid. */
  setState(state: ArrayLike<number>): void {
    requireArg(state.length === 4, `rng state must have 4 words, got ${state.length}`, {
      field: 'state',
      actual: state.length,
    });
    for (let i = 0; i < 4; i++) {
      const w = state[i]!;
      requireArg(Number.isInteger(w) && w >= 0 && w <= 0xffffffff, `rng state word ${i} is not a u32: ${w}`, {
        field: 'state',
        actual: w,
      });
    }
    requireArg(state[0] !== 0 || state[1] !== 0 || state[2] !== 0 || state[3] !== 0, 'rng state must not be all zero', {
      field: 'state',
    });
    this.s0 = state[0]!;
    this.s1 = state[1]!;
    this.s2 = state[2]!;
    this.s3 = state[3]!;
  }

  /** Next uniform integer in [0, 2^32). */
  nextU32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const s2 = this.s2 ^ this.s0;
    const s3 = this.s3 ^ s1;
    this.s1 = (s1 ^ s2) >>> 0;
    this.s0 = (this.s0 ^ s3) >>> 0;
    this.s2 = (s2 ^ t) >>> 0;
    this.s3 = ((s3 << 11) | (s3 >>> 21)) >>> 0;
    return result;
  }

  /**
   * Next uniform float in [0, 1) with 53 random bits (two draws: 27 + 26
   * high bits). 24 bits would leave steps of 6e-8, coarser than the
   * probability of many tokens in a 150k vocabulary.
   */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }
}

/**
 * A fresh seed in [0, 2^53) from the platform's crypto source, for when the
 * user gives none. Log it: passing it back as `seed` replays the run.
 *
 * @example
 * const seed = randomSeed();
 * const sampler = new Sampler({ seed });
 */
export function randomSeed(): number {
  const w = new Uint32Array(2);
  globalThis.crypto.getRandomValues(w);
  return (w[0]! & 0x1fffff) * 2 ** 32 + w[1]!;
}
