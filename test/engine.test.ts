/** Engine lifecycle: the wasm backend's worker threads never keep a process alive. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { PROJECT_ROOT } from './helpers/fixtures.js';

test('a process that forgets to close a 2-thread wasm backend still exits', () => {
  const mod = pathToFileURL(join(PROJECT_ROOT, 'dist', 'runtime', 'engine.js')).href;
  const script = `
    const { createOps } = await import(${JSON.stringify(mod)});
    const ops = await createOps({ threads: 2 });
    const w = { name: 'w', type: 0, rows: 512, cols: 256, data: ops.alloc(512 * 256 * 4) };
    ops.matmul(ops.allocF32(512 * 64), w, ops.allocF32(256 * 64), 64);
    console.log('computed');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `did not exit: ${String(r.error)}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'computed');
});
