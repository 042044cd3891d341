/**
 * Sampling: turning a row of logits into the next token, deterministically
 * for a given seed. Pure functions of (logits, history, rng) plus a reusable
 * `Sampler` that owns its scratch buffers.
 *
 * @example
 * import { Sampler, logSoftmax } from 'streamllm/sampling';
 *
 * const sampler = new Sampler({ temperature: 0.7, topP: 0.9, seed: 42 });
 * const next = sampler.sample(logits, history);
 *
 * // perplexity: negative log-likelihood of the actual next token
 * const nll = -logSoftmax(logits)[target]!;
 */
export { Sampler } from './sampler.js';
export type { Candidate } from './sampler.js';
export type { SamplerOptions, PenaltyOptions, ResolvedSamplerOptions, ResolvedPenalties } from './options.js';
export { resolveSamplerOptions, DEFAULT_PENALTY_LAST_N } from './options.js';
export { applyPenalties } from './penalties.js';
export { argmax, softmax, logSoftmax, logSumExp } from './math.js';
export { SeededRng, randomSeed, MAX_SEED } from './rng.js';
export type { RandomSource } from './rng.js';
