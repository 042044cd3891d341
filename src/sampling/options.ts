/**
 * Sampler parameters: the public option shapes, their defaults, and the one
 * place they are validated. Every check names the parameter and the bad
 * value, because these usually arrive from a CLI flag or an HTTP body and the
 * person reading the error needs to know which knob to turn.
 */
import { requireArg } from '../errors.js';
import { validateSeed } from './rng.js';

/** Token-history penalties (see `applyPenalties`). */
export interface PenaltyOptions {
  /**
   * llama.cpp's repetition penalty; 1 = off, must be > 0. Each distinct token
   * in the window has its logit divided by this when positive and multiplied
   * by it when negative, so values > 1 always make a repeat less likely.
   */
  repeatPenalty?: number;
  /** OpenAI frequency penalty: logit -= count * frequencyPenalty. 0 = off. */
  frequencyPenalty?: number;
  /** OpenAI presence penalty: logit -= presencePenalty if count > 0. 0 = off. */
  presencePenalty?: number;
  /** How many most recent history tokens count. Default 64; -1 = all; 0 = none. */
  penaltyLastN?: number;
}

export interface SamplerOptions extends PenaltyOptions {
  /** Softmax temperature, applied last. Default 1; 0 = greedy (argmax). */
  temperature?: number;
  /** Keep only the k most likely tokens. 0 (default) = off. */
  topK?: number;
  /** Nucleus: keep the smallest top set with mass >= topP. In (0, 1]; 1 (default) = off. */
  topP?: number;
  /**
   * Keep tokens with p >= minP * p_max. In [0, 1]; 0 (default) = off.
   * minP = 1 keeps only the token(s) tied for the maximum.
   */
  minP?: number;
  /** Integer in [0, 2^53]. Omitted = a fresh random seed (see `Sampler.seed`). */
  seed?: number;
}

export interface ResolvedPenalties {
  readonly repeatPenalty: number;
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  readonly penaltyLastN: number;
}

/** Every option with its default filled in. `seed` stays optional. */
export interface ResolvedSamplerOptions extends ResolvedPenalties {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly seed: number | undefined;
}

export const DEFAULT_PENALTY_LAST_N = 64;

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && !Number.isNaN(v);
}

function check(ok: boolean, field: string, value: unknown, rule: string): void {
  requireArg(ok, `${field} must be ${rule}, got ${describe(value)}`, {
    field,
    actual: value,
    expected: rule,
  });
}

/**
 * Extra keys are ignored on purpose: callers pass supersets (generation
 * options that extend SamplerOptions). Mapping JSON names such as `top_k` is
 * the server's job.
 */
function requireObject(opts: unknown, what: string): Record<string, unknown> {
  requireArg(typeof opts === 'object' && opts !== null && !Array.isArray(opts), `${what} must be an object`, {
    field: what,
    actual: opts,
  });
  return opts as Record<string, unknown>;
}

/** Validates and fills defaults for the penalty subset of the options. */
export function resolvePenalties(opts: PenaltyOptions = {}): ResolvedPenalties {
  return readPenalties(requireObject(opts, 'penalty options'));
}

function readPenalties(o: Record<string, unknown>): ResolvedPenalties {
  const repeatPenalty = o['repeatPenalty'] ?? 1;
  check(isNum(repeatPenalty) && repeatPenalty > 0 && Number.isFinite(repeatPenalty), 'repeatPenalty', repeatPenalty, 'a finite number > 0 (1 = off)');
  const frequencyPenalty = o['frequencyPenalty'] ?? 0;
  check(isNum(frequencyPenalty) && Number.isFinite(frequencyPenalty), 'frequencyPenalty', frequencyPenalty, 'a finite number (0 = off)');
  const presencePenalty = o['presencePenalty'] ?? 0;
  check(isNum(presencePenalty) && Number.isFinite(presencePenalty), 'presencePenalty', presencePenalty, 'a finite number (0 = off)');
  const penaltyLastN = o['penaltyLastN'] ?? DEFAULT_PENALTY_LAST_N;
  check(
    Number.isSafeInteger(penaltyLastN) && (penaltyLastN as number) >= -1,
    'penaltyLastN',
    penaltyLastN,
    'an integer >= -1 (-1 = whole history, 0 = none)',
  );
  return {
    repeatPenalty: repeatPenalty as number,
    frequencyPenalty: frequencyPenalty as number,
    presencePenalty: presencePenalty as number,
    penaltyLastN: penaltyLastN as number,
  };
}

/** True when the penalties would change some logit for a non-empty history. */
export function penaltiesActive(p: ResolvedPenalties): boolean {
  return p.penaltyLastN !== 0 && (p.repeatPenalty !== 1 || p.frequencyPenalty !== 0 || p.presencePenalty !== 0);
}

/** Validates every option (throws BAD_ARGUMENT naming the first bad one) and fills defaults. */
export function resolveSamplerOptions(opts: SamplerOptions = {}): ResolvedSamplerOptions {
  const o = requireObject(opts, 'sampler options');
  const temperature = o['temperature'] ?? 1;
  check(isNum(temperature) && Number.isFinite(temperature) && temperature >= 0, 'temperature', temperature, 'a finite number >= 0 (0 = greedy)');
  const topK = o['topK'] ?? 0;
  check(Number.isSafeInteger(topK) && (topK as number) >= 0, 'topK', topK, 'an integer >= 0 (0 = off)');
  const topP = o['topP'] ?? 1;
  check(isNum(topP) && topP > 0 && topP <= 1, 'topP', topP, 'a number in (0, 1] (1 = off)');
  const minP = o['minP'] ?? 0;
  check(isNum(minP) && minP >= 0 && minP <= 1, 'minP', minP, 'a number in [0, 1] (0 = off)');
  const seed = o['seed'];
  if (seed !== undefined) validateSeed(seed);
  return {
    ...readPenalties(o),
    temperature: temperature as number,
    topK: topK as number,
    topP: topP as number,
    minP: minP as number,
    seed: seed as number | undefined,
  };
}
