/** The published surface: every `exports` entry of package.json resolves in the build and exports something. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { PROJECT_ROOT } from './helpers/fixtures.js';

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; import: string }>;
  bin: Record<string, string>;
  engines: { node: string };
};

test('every package export exists in dist with types, and imports', async () => {
  for (const [sub, e] of Object.entries(pkg.exports)) {
    for (const f of [e.types, e.import]) assert.ok(existsSync(join(PROJECT_ROOT, f)), `${sub}: ${f} missing (run npm run build)`);
    const mod = (await import(pathToFileURL(join(PROJECT_ROOT, e.import)).href)) as Record<string, unknown>;
    assert.ok(Object.keys(mod).length > 0, `${sub} exports nothing`);
  }
  const root = (await import(pathToFileURL(join(PROJECT_ROOT, pkg.exports['.']!.import)).href)) as Record<string, unknown>;
  for (const name of ['loadModel', 'Session', 'StreamLlmError', 'perplexity', 'createCache']) assert.equal(typeof root[name], 'function', name);
});

test('the bin entry is an executable ESM script with a node shebang', () => {
  const bin = join(PROJECT_ROOT, pkg.bin['streamllm']!);
  assert.ok(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node'));
  assert.equal(pkg.engines.node, '>=20');
});

test('both kernel builds ship in dist (the relaxed one is the default where the runtime has it)', () => {
  for (const f of ['kernels.wasm', 'kernels-relaxed.wasm']) {
    const p = join(PROJECT_ROOT, 'dist', 'kernels', f);
    assert.ok(existsSync(p), `${p} missing (run npm run build)`);
    const bytes = readFileSync(p);
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], `${f} is a wasm module`);
  }
});
