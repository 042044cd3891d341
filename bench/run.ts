/**
 * `npm run bench`: every benchmark in sequence (each in its own process, so
 * one's memory does not colour another's RSS), results in bench/results/.
 * Pass --quick for a short smoke run (fewer tokens and sizes).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { args, BENCH_DIR } from './common.js';
import { benchModel, GgmlType } from './models.js';

const quick = args().has('quick');
const runs: [string, string[]][] = [
  ['stream-1m.ts', quick ? ['--tokens', '20000'] : []],
  ['sink-vs-recompute.ts', quick ? ['--sizes', '256', '--sink-tokens', '2', '--recompute-tokens', '1', '--ops', 'wasm'] : ['--ops', 'wasm', '--threads', '2']],
  ['vs-llamacpp.ts', quick ? ['--runs', '1', '--models', 'quick', '--threads', '1'] : []],
  ['matvec-memory.ts', quick ? ['--copies', '16'] : []],
  ['decode-profile.ts', ['--model', benchModel('llama-110m', GgmlType.Q8_0), ...(quick ? ['--gen', '8'] : [])]],
  ['decode-profile.ts', ['--model', benchModel('llama-110m', GgmlType.Q4_0), '--phase', 'prefill', '--threads', '2', ...(quick ? ['--reps', '1'] : [])]],
];
let failed = 0;
for (const [file, extra] of runs) {
  console.error(`\n=== ${file} ${extra.join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(BENCH_DIR, file), ...extra], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    failed++;
    console.error(`${file} exited with ${r.status}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
