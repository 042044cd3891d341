/** Engine lifecycle: the wasm backend's worker threads never keep a process alive. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { writeRandomModel } from '../src/convert/random.js';
import type { Hparams } from '../src/models/types.js';
import { workerExecArgv } from '../src/kernels/wasm/pool.js';
import { usefulThreads } from '../src/runtime/engine.js';
import { PROJECT_ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

/** Runs a 2-thread wasm matmul in a child node with `nodeArgs`, closing the backend or not; asserts it printed 'computed' and exited 0. */
function runTwoThreadMatmul(nodeArgs: string[], close: boolean): void {
  const mod = pathToFileURL(join(PROJECT_ROOT, 'dist', 'runtime', 'engine.js')).href;
  const script = `
    const { createOps } = await import(${JSON.stringify(mod)});
    const ops = await createOps({ threads: 2 });
    const w = { name: 'w', type: 0, rows: 512, cols: 256, data: ops.alloc(512 * 256 * 4) };
    ops.matmul(ops.allocF32(512 * 64), w, ops.allocF32(256 * 64), 64);
    ${close ? 'await ops.close();' : ''}
    console.log('computed');
  `;
  const r = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `did not exit: ${String(r.error)}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'computed');
}

test('a process that forgets to close a 2-thread wasm backend still exits', () => {
  runTwoThreadMatmul([], false);
});

test('usefulThreads: tiny GGUF models run on one thread; larger ones, other formats and bad paths keep the request', () => {
  const dir = tempDir();
  const hp = (dim: number, vocab: number): Hparams => ({
    arch: 'llama', vocabSize: vocab, dim, layers: 1, nHeads: 2, kvHeads: 2, headDim: dim / 2, ffnDim: dim, contextLength: 16, normEps: 1e-5,
    rope: { base: 10000, dims: dim / 2, style: 'adjacent', freqScale: 1 },
  });
  const small = join(dir, 'small.gguf');
  writeRandomModel(small, { hparams: hp(64, 512) }); // largest matrix 64 x 512 = 32768 weights
  const large = join(dir, 'large.gguf');
  writeRandomModel(large, { hparams: hp(512, 512) }); // 512 x 512 = 2^18
  assert.equal(usefulThreads(small, 2), 1);
  assert.equal(usefulThreads(small, 1), 1);
  assert.equal(usefulThreads(large, 2), 2);
  assert.equal(usefulThreads(undefined, 3), 3);
  assert.equal(usefulThreads(join(dir, 'missing.gguf'), 2), 2);
  assert.equal(usefulThreads(dir, 2), 2);
});

test('worker threads start when node runs with V8 flags (only module-loading flags are passed on)', () => {
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '-e', '--enable-source-maps', '--stack-size=900', '--conditions=dev']), ['--import', 'tsx', '--enable-source-maps', '--conditions=dev']);
  runTwoThreadMatmul(['--max-semi-space-size=2'], true);
});
