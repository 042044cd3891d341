/** The published surface: every `exports` entry of package.json resolves in the build and exports something. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { writeRandomLlama } from '../src/convert/random.js';
import type { Hparams } from '../src/models/types.js';
import { PROJECT_ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

/** Matrices of 2^18+ weights: big enough that the engine uses the threads it is given (README). */
const SMALL: Hparams = {
  arch: 'llama',
  vocabSize: 512,
  dim: 512,
  layers: 1,
  nHeads: 8,
  kvHeads: 8,
  headDim: 64,
  ffnDim: 1024,
  contextLength: 64,
  normEps: 1e-5,
  rope: { base: 10000, dims: 64, style: 'adjacent', freqScale: 1 },
};

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

test('the CLI runs from its one-file bundle and starts the one-file kernel worker (scripts/bundle-cli.mjs)', () => {
  for (const f of ['dist/cli/streamllm.bundle.js', 'dist/kernels/wasm/worker.bundle.js']) assert.ok(existsSync(join(PROJECT_ROOT, f)), `${f} missing (run npm run build)`);
  const model = join(tempDir(), 'tiny.gguf');
  writeRandomLlama(model, { hparams: SMALL, seed: 1 });
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, pkg.bin['streamllm']!), 'bench', '-m', model, '--threads', '2', '--prompt', '8', '--gen', '4', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ops: string; decode_tok_s: number };
  assert.match(out.ops, /x2$/);
  assert.ok(out.decode_tok_s > 0);
});
