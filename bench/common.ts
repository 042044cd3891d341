/** Shared helpers for benchmarks: bounded-memory latency histograms, medians, machine info, result files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/**
 * Log-spaced latency histogram (1% bins from 1 µs to ~100 s): constant memory
 * however many samples, percentiles accurate to 1%.
 */
export class LatencyHistogram {
  private static readonly BASE = 1.01;
  private readonly bins = new Float64Array(2000);
  count = 0;
  add(ms: number): void {
    const us = Math.max(ms * 1000, 1);
    const b = Math.min(this.bins.length - 1, Math.floor(Math.log(us) / Math.log(LatencyHistogram.BASE)));
    this.bins[b]!++;
    this.count++;
  }
  /** Percentile in ms (bin midpoint). */
  percentile(p: number): number {
    const target = (p / 100) * this.count;
    let acc = 0;
    for (let b = 0; b < this.bins.length; b++) {
      acc += this.bins[b]!;
      if (acc >= target) return Math.pow(LatencyHistogram.BASE, b + 0.5) / 1000;
    }
    return NaN;
  }
}

export { median } from '../src/eval/passes.js';

export function machine(): Record<string, unknown> {
  const c = cpus();
  return { cpu: c[0]?.model ?? 'unknown', cores: c.length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() };
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

export function saveResult(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const p = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(p, JSON.stringify(data, null, 2) + '\n');
  return p;
}

/** Parse `--key value` / `--flag` arguments. */
export function args(): Map<string, string> {
  const m = new Map<string, string>();
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i]!;
    if (!k.startsWith('--')) continue;
    const v = a[i + 1];
    if (v === undefined || v.startsWith('--')) m.set(k.slice(2), 'true');
    else {
      m.set(k.slice(2), v);
      i++;
    }
  }
  return m;
}
