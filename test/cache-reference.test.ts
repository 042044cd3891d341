/**
 * StreamingLLM exactness against the independent float64 reference streams
 * (../shared/fixtures/reference): per-token NLL within 1e-4, and ppl, token by
 * token and with chunked prefill at chunk sizes 7, 64 and 600 (a chunk longer
 * than the cache), on the scalar oracle and on the SIMD WebAssembly backend.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CacheOptions } from '../src/cache/registry.js';
import { perplexity } from '../src/eval/perplexity.js';
import { scalarOps } from '../src/kernels/scalar.js';
import type { Ops } from '../src/kernels/types.js';
import { createWasmOps } from '../src/kernels/wasm/index.js';
import { loadModel } from '../src/runtime/index.js';
import { maxAbsDiff } from './helpers/compare.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

interface StreamRef {
  inputs: number[];
  nll: number[];
  ppl: number;
  logits_at?: Record<string, number[]>;
}

const CASES: [string, CacheOptions, string[]][] = [
  ['stream-4+60', { policy: 'sink', sinks: 4, window: 60 }, ['--cache', 'sink', '--sinks', '4', '--window', '60']],
  ['window-64', { policy: 'window', window: 64 }, ['--cache', 'window', '--window', '64']],
  ['dense-600', { policy: 'dense', allowOverflow: true }, ['--cache', 'dense', '--allow-overflow']],
];
const TOL = 1e-4;
const dir = tempDir();

// The scalar oracle, and the SIMD backend on 2 threads with every matmul and attention call on the pool.
const ENGINES: [string, () => Promise<Ops & { close?: () => Promise<void> }>][] = [
  ['scalar', async () => scalarOps],
  ['wasm x2', () => createWasmOps({ threads: 2, minParallelWork: 0 })],
];

for (const [name, cache] of CASES) for (const [engine, makeOps] of ENGINES) {
  test(`${name} (${engine}): per-token NLL and ppl match the float64 reference at chunk sizes 1, 7, 64, 600`, async (t) => {
    const bin = needFixture(t, 'models/aidreams260K.bin');
    const refPath = needFixture(t, `reference/aidreams260K.${name}.json`);
    if (bin === undefined || refPath === undefined) return;
    const ref = JSON.parse(readFileSync(refPath, 'utf8')) as StreamRef;
    assert.equal(ref.inputs.length, 600);
    const ops = await makeOps();
    t.after(() => ops.close?.());
    const m = loadModel(bin, { ops });
    for (const chunk of [1, 7, 64, 600]) {
      const s = m.createSession({ cache, batchSize: chunk });
      const rows = new Map<number, Float32Array>();
      const r = perplexity(s, ref.inputs);
      const d = maxAbsDiff(r.nll, ref.nll);
      t.diagnostic(`chunk ${chunk}: worst token ${d.at} |diff| ${d.maxAbsDiff.toExponential(2)}; ppl ${r.ppl} vs ${ref.ppl}`);
      assert.ok(d.maxAbsDiff <= TOL, `chunk ${chunk}: token ${d.at}: nll ${d.ours} vs reference ${d.ref}`);
      assert.ok(Math.abs(r.ppl - ref.ppl) <= TOL, `chunk ${chunk}: ppl ${r.ppl} vs ${ref.ppl}`);
      if (chunk === 7 && ref.logits_at !== undefined) {
        // Full logits at the reference's checkpoints.
        const s2 = m.createSession({ cache, batchSize: chunk });
        s2.evaluate(ref.inputs, (i, row) => {
          if (ref.logits_at![String(i)] !== undefined) rows.set(i, Float32Array.from(row));
        });
        for (const [pos, want] of Object.entries(ref.logits_at)) {
          const dl = maxAbsDiff(rows.get(Number(pos))!, want);
          assert.ok(dl.maxAbsDiff <= 1e-3, `logits at ${pos}: index ${dl.at}: ${dl.ours} vs ${dl.ref}`);
        }
      }
    }
  });
}

test('`streamllm ppl --tokens --json` reproduces the reference ppl for each policy', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  if (bin === undefined) return;
  for (const [name, , flags] of CASES) {
    const refPath = needFixture(t, `reference/aidreams260K.${name}.json`);
    if (refPath === undefined) return;
    const ref = JSON.parse(readFileSync(refPath, 'utf8')) as StreamRef;
    const tokens = join(dir, `${name}.json`);
    writeFileSync(tokens, JSON.stringify(ref.inputs)); // JSON array form
    const out = execFileSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'ppl', '-m', bin, '--tokens', tokens, '--batch', '50', ...flags, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = JSON.parse(out) as { ppl: number; nll_mean: number; tokens_scored: number };
    assert.equal(r.tokens_scored, 599);
    assert.ok(Math.abs(r.ppl - ref.ppl) <= TOL, `${name}: ppl ${r.ppl} vs ${ref.ppl}`);
    assert.ok(Math.abs(r.nll_mean - Math.log(ref.ppl)) <= TOL);
  }
});

test('dense attention collapses past the training length while sink and window stay flat', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const refPath = needFixture(t, 'reference/aidreams260K.dense-600.json');
  if (bin === undefined || refPath === undefined) return;
  const ids = (JSON.parse(readFileSync(refPath, 'utf8')) as StreamRef).inputs;
  const m = loadModel(bin);
  const tail = (c: CacheOptions) => {
    const r = perplexity(m.createSession({ cache: c, batchSize: 64 }), ids);
    const late = r.nll.subarray(200);
    return Math.exp(late.reduce((a, b) => a + b, 0) / late.length);
  };
  const dense = tail({ policy: 'dense', allowOverflow: true });
  const sink = tail({ policy: 'sink', sinks: 4, window: 60 });
  t.diagnostic(`ppl after token 200: dense ${dense.toFixed(2)}, sink ${sink.toFixed(2)}`);
  assert.ok(dense > 3 * sink, `dense ${dense} should be far worse than sink ${sink}`);
  // And without --allow-overflow, dense refuses to go past the training length.
  assert.throws(() => perplexity(m.createSession({ cache: { policy: 'dense' } }), ids), { code: 'CONTEXT_OVERFLOW' });
});
