/**
 * Markdown tables from bench/results/*.json, for BENCHMARKS.md (the numbers
 * are pasted from here, never typed by hand).
 *   node --import tsx bench/report.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from './common.js';

const load = <T>(name: string): T | undefined => {
  const p = join(RESULTS_DIR, `${name}.json`);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined;
};
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

interface Stream {
  command: string;
  machine: Record<string, unknown>;
  checkpoints: { tokens: number; rssMiB: number; tokPerS: number }[];
  rssGrowth100kTo1mPct: number;
  latencyMs: Record<string, number>;
  p99OverP50: number;
}
const s = load<Stream>('stream-1m');
if (s !== undefined) {
  console.log(`### Endless stream: ${s.command}\n\nMachine: ${JSON.stringify(s.machine)}\n`);
  console.log('| tokens | RSS (MiB) | tok/s (since previous row) |\n|---:|---:|---:|');
  for (const c of s.checkpoints) console.log(`| ${c.tokens.toLocaleString('en-US')} | ${f(c.rssMiB)} | ${f(c.tokPerS, 0)} |`);
  const l = s.latencyMs;
  console.log(`\nRSS growth 100k → 1M: **${f(s.rssGrowth100kTo1mPct, 2)}%**. Per-token latency: p50 ${f(l['p50']!, 3)} ms, p90 ${f(l['p90']!, 3)} ms, p99 ${f(l['p99']!, 3)} ms, p99.9 ${f(l['p999']!, 3)} ms; **p99/p50 = ${f(s.p99OverP50, 2)}**.\n`);
}

interface Svr {
  command: string;
  ops: string;
  rows: { cacheSize: number; sinkMs: number; recomputeMs: number; ratio: number }[];
}
for (const name of ['sink-vs-recompute-wasm', 'sink-vs-recompute-scalar']) {
  const r = load<Svr>(name);
  if (r === undefined) continue;
  console.log(`### Sink vs recompute (${r.ops}): ${r.command}\n`);
  console.log('| cache size | sink (ms/token) | recompute (ms/token) | speed-up |\n|---:|---:|---:|---:|');
  for (const x of r.rows) console.log(`| ${x.cacheSize} | ${f(x.sinkMs, 2)} | ${f(x.recomputeMs, 0)} | **${f(x.ratio, 0)}×** |`);
  console.log('');
}

interface Vs {
  command: string;
  machine: Record<string, unknown>;
  rows: {
    model: string;
    threads: number;
    ours: Record<string, number>;
    llamacpp: Record<string, number>;
    decodeRatio: number;
    prefillRatio: number;
  }[];
}
for (const v of [load<Vs>('vs-llamacpp'), load<Vs>('vs-llamacpp-arch')]) {
  if (v === undefined) continue;
  console.log(`### streamllm vs llama.cpp: ${v.command}\n\nMachine: ${JSON.stringify(v.machine)}\n`);
  console.log('| model | threads | decode tok/s (ours / llama.cpp) | ratio | prefill tok/s (ours / llama.cpp) | ratio | load s (ours / llama.cpp) | peak RSS MB (ours / llama.cpp) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of v.rows) {
    console.log(
      `| ${x.model} | ${x.threads} | ${f(x.ours['decode_tok_s']!)} / ${f(x.llamacpp['decode_tok_s']!)} | **${f(x.decodeRatio, 2)}** | ${f(x.ours['prefill_tok_s']!)} / ${f(x.llamacpp['prefill_tok_s']!)} | ${f(x.prefillRatio, 2)} | ${f(x.ours['load_s']!, 2)} / ${f(x.llamacpp['load_s']!, 2)} | ${f(x.ours['peak_rss_mb']!, 0)} / ${f(x.llamacpp['peak_rss_mb']!, 0)} |`,
    );
  }
}
