/**
 * How many timed passes a speed measurement takes, and their median: shared
 * by `streamllm bench` and the llama.cpp probe of bench/vs-llamacpp.ts, so
 * both engines are timed by the same rule.
 *
 * Why repeat: a small model's 128-token prefill takes a few milliseconds, so
 * one pass is one timer tick or garbage collection away from half its speed
 * (aidreams260K, one pass per process: 17k-31k prefill tok/s over five
 * runs). A 1.1B model's pass takes seconds and is timed once.
 */

/** Without an explicit count: passes until about this much timed work... */
export const AUTO_PASS_SECONDS = 1;
/** ...and at most this many. */
export const MAX_AUTO_PASSES = 10;

/** Whether to time another pass after `done` passes took `elapsedS` seconds; `reps` fixes the count. */
export function morePasses(done: number, elapsedS: number, reps?: number): boolean {
  if (reps !== undefined) return done < reps;
  return done < 1 || (elapsedS < AUTO_PASS_SECONDS && done < MAX_AUTO_PASSES);
}

/** Median (mean of the middle two for an even count; NaN for none). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
