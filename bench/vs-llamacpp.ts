/**
 * streamllm against llama.cpp (node-llama-cpp 3.21.1) in the same run, on the
 * same GGUF files, at the same thread counts: load time, prefill and decode
 * tokens/s, peak RSS. Each measurement is its own process; engines are
 * interleaved run by run, and the table reports medians. Both KV caches are
 * F16 by default (llama.cpp's default; ours with --kv-type f16), so both
 * engines read and hold the same cache bytes; --kv-type f32 runs ours exact.
 * Within a process both time their passes by one rule (src/eval/passes.ts:
 * ~1 s of passes, or --reps N), so a small model is not one noisy pass.
 *
 *   node --import tsx bench/vs-llamacpp.ts [--runs 3] [--threads 1,2] [--models all|quick] [--prompt 128] [--gen 64] [--kv-type f16|f32] [--reps N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { args, BENCH_DIR, machine, median, saveResult } from './common.js';
import { benchModel, GgmlType } from './models.js';

const a = args();
const runs = Number(a.get('runs') ?? 3);
const threadList = (a.get('threads') ?? '1,2').split(',').map(Number);
const prompt = Number(a.get('prompt') ?? 128);
const gen = Number(a.get('gen') ?? 64);
const kvType = a.get('kv-type') ?? 'f16';
const reps = a.get('reps');
if (reps !== undefined && !(Number.isInteger(Number(reps)) && Number(reps) >= 1)) {
  console.error(`--reps must be a whole number of passes >= 1, got ${reps}`);
  process.exit(2);
}
const quick = a.get('models') === 'quick';
const archOnly = a.get('models') === 'arch';
const CLI = join(BENCH_DIR, '..', 'dist', 'cli', 'main.js');
if (!existsSync(CLI)) {
  console.error('build first: npm run build');
  process.exit(2);
}

const aidreams = join(BENCH_DIR, '..', '..', 'shared', 'fixtures', 'models', 'aidreams260K.bin');
const archModels: [string, () => string][] = [
  ['pythia-160m F32', () => benchModel('pythia-160m', GgmlType.F32)],
  ['pythia-160m Q8_0', () => benchModel('pythia-160m', GgmlType.Q8_0)],
  ['mpt-125m F32', () => benchModel('mpt-125m', GgmlType.F32)],
  ['mpt-125m Q8_0', () => benchModel('mpt-125m', GgmlType.Q8_0)],
];
const models: [string, () => string][] = archOnly ? archModels : [
  ['llama-110m F32', () => benchModel('llama-110m', GgmlType.F32)],
  ['llama-110m Q8_0', () => benchModel('llama-110m', GgmlType.Q8_0)],
  ['llama-110m Q4_0', () => benchModel('llama-110m', GgmlType.Q4_0)],
  ...(quick
    ? []
    : ([
        ['tinyllama-1.1b Q8_0', () => benchModel('tinyllama-1.1b', GgmlType.Q8_0)],
        ['tinyllama-1.1b Q4_0', () => benchModel('tinyllama-1.1b', GgmlType.Q4_0)],
      ] as [string, () => string][])),
];

if (!archOnly && !quick) models.push(...archModels);
/** aidreams (a llama2.c checkpoint) runs as the GGUF `streamllm convert` makes of it. */
if (!archOnly && existsSync(aidreams)) {
  const out = join(BENCH_DIR, 'out', 'aidreams260K.gguf');
  if (!existsSync(out)) {
    spawnSync(process.execPath, [CLI, 'convert', '--from', 'llama2c', aidreams, '--tokenizer', aidreams.replace('.bin', '.tok512.bin'), '-o', out], { stdio: 'inherit' });
  }
  models.push(['aidreams260K F32', () => out]);
}

interface Measure {
  load_s: number;
  prefill_tok_s: number;
  decode_tok_s: number;
  peak_rss_mb: number;
}

function measure(cmd: string[]): Measure | undefined {
  const r = spawnSync(process.execPath, cmd, { encoding: 'utf8', timeout: 30 * 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Measure;
  } catch {
    console.error(`failed: ${cmd.join(' ')}\n${r.stderr.slice(-2000)}`);
    return undefined;
  }
}

const rows: Record<string, unknown>[] = [];
for (const [label, make] of models) {
  const file = make();
  for (const threads of threadList) {
    const ours: Measure[] = [];
    const theirs: Measure[] = [];
    for (let r = 0; r < runs; r++) {
      const o = measure([CLI, 'bench', '-m', file, '--threads', String(threads), '--prompt', String(prompt), '--gen', String(gen), '--kv-type', kvType, '--json', ...(reps !== undefined ? ['--reps', reps] : [])]);
      const l = measure(['--import', 'tsx', join(BENCH_DIR, 'llamacpp-probe.ts'), file, String(threads), String(prompt), String(gen), ...(reps !== undefined ? [reps] : [])]);
      if (o !== undefined) ours.push(o);
      if (l !== undefined) theirs.push(l);
    }
    const med = (xs: Measure[], k: keyof Measure) => median(xs.map((x) => x[k]));
    const row = {
      model: label,
      threads,
      ours: { load_s: med(ours, 'load_s'), prefill_tok_s: med(ours, 'prefill_tok_s'), decode_tok_s: med(ours, 'decode_tok_s'), peak_rss_mb: med(ours, 'peak_rss_mb') },
      llamacpp: { load_s: med(theirs, 'load_s'), prefill_tok_s: med(theirs, 'prefill_tok_s'), decode_tok_s: med(theirs, 'decode_tok_s'), peak_rss_mb: med(theirs, 'peak_rss_mb') },
      decodeRatio: med(ours, 'decode_tok_s') / med(theirs, 'decode_tok_s'),
      prefillRatio: med(ours, 'prefill_tok_s') / med(theirs, 'prefill_tok_s'),
      samples: { ours, llamacpp: theirs },
    };
    rows.push(row);
    console.error(
      `${label} x${threads}: decode ${row.ours.decode_tok_s.toFixed(1)} vs ${row.llamacpp.decode_tok_s.toFixed(1)} tok/s (${row.decodeRatio.toFixed(2)}x), ` +
        `prefill ${row.ours.prefill_tok_s.toFixed(1)} vs ${row.llamacpp.prefill_tok_s.toFixed(1)} (${row.prefillRatio.toFixed(2)}x), ` +
        `RSS ${row.ours.peak_rss_mb.toFixed(0)} vs ${row.llamacpp.peak_rss_mb.toFixed(0)} MB`,
    );
  }
}
const result = { machine: machine(), command: `node --import tsx bench/vs-llamacpp.ts --runs ${runs} --threads ${threadList.join(',')} --prompt ${prompt} --gen ${gen} --kv-type ${kvType}${quick ? ' --models quick' : archOnly ? ' --models arch' : ''}${reps !== undefined ? ` --reps ${reps}` : ''}`, kvType: { ours: kvType, llamacpp: 'f16 (default)' }, rows };
console.log(JSON.stringify(result, null, 2));
saveResult(archOnly ? 'vs-llamacpp-arch' : 'vs-llamacpp', result);
