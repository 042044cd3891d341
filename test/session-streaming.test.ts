/** Sessions over the streaming policies: sink tokens, recompute, endless generation. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRandomLlama } from '../src/convert/random.js';
import { GgufFile, gv, writeGguf } from '../src/formats/gguf/index.js';
import { DenseCache } from '../src/cache/dense.js';
import { scalarOps } from '../src/kernels/scalar.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel, SINK_TOKEN_KEY } from '../src/runtime/index.js';
import { maxAbsDiff } from './helpers/compare.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
const HP: Hparams = {
  arch: 'llama',
  vocabSize: 64,
  dim: 32,
  layers: 2,
  nHeads: 4,
  kvHeads: 2,
  headDim: 8,
  ffnDim: 64,
  contextLength: 32,
  normEps: 1e-5,
  rope: { base: 10000, dims: 8, style: 'adjacent', freqScale: 1 },
};
const base = join(dir, 'tiny.gguf');
writeRandomLlama(base, { hparams: HP, seed: 3 });
const stream = Array.from({ length: 100 }, (_, i) => (i * 37 + 5) % 64);

test('the default session is StreamingLLM: 4 sinks + a window filling the training length', () => {
  const s = loadModel(base).createSession();
  s.prefill(stream);
  assert.deepEqual(s.stats(), { policy: 'sink', tokensSeen: 100, length: 32, capacity: 32, sinks: 4, windowFill: 28, evictions: 68 });
});

test('a dedicated sink token is prepended once and is the only sink (flag and GGUF key)', () => {
  const m = loadModel(base);
  const a = m.createSession({ sinkToken: 63, cache: { policy: 'sink', window: 20 } });
  a.prefill(stream.slice(0, 50));
  a.prefill(stream.slice(50));
  assert.equal(a.stats().tokensSeen, 101, 'sink token + 100 stream tokens');
  assert.equal(a.stats().sinks, 1);
  // Equivalent to a 1-sink cache over [63, ...stream].
  const b = m.createSession({ cache: { policy: 'sink', sinks: 1, window: 20 } });
  b.prefill([63, ...stream]);
  assert.equal(maxAbsDiff(a.logits(), b.logits()).maxAbsDiff, 0);
  assert.throws(() => m.createSession({ sinkToken: 63, cache: { policy: 'sink', sinks: 4 } }), { code: 'BAD_ARGUMENT' });
  assert.throws(() => m.createSession({ sinkToken: 64 }), { code: 'BAD_ARGUMENT' });

  // The same through the GGUF metadata key.
  const f = GgufFile.open(base);
  const withKey = join(dir, 'sinktoken.gguf');
  writeGguf(withKey, {
    metadata: [...f.metadata, [SINK_TOKEN_KEY, gv.u32(63)]],
    tensors: f.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: f.tensorBytes(t) })),
  });
  f.close();
  const mk = loadModel(withKey);
  assert.equal(mk.sinkToken, 63);
  const c = mk.createSession({ cache: { policy: 'sink', window: 20 } });
  c.prefill(stream);
  assert.equal(maxAbsDiff(c.logits(), b.logits()).maxAbsDiff, 0);
  // Asking for another policy turns it off.
  const d = mk.createSession({ cache: { policy: 'window', window: 20 } });
  d.prefill(stream);
  assert.equal(d.stats().tokensSeen, 100);
});

test('recompute: each token re-runs its last L tokens from an empty cache', () => {
  const m = loadModel(base);
  const L = 12;
  const s = m.createSession({ cache: { policy: 'recompute', window: L }, batchSize: 5 });
  const rows: Float32Array[] = [];
  s.evaluate(stream.slice(0, 40), (_, row) => rows.push(Float32Array.from(row)));
  for (const t of [0, 5, 11, 12, 25, 39]) {
    const win = stream.slice(Math.max(0, t - L + 1), t + 1);
    const fresh = new DenseCache(m.model.geometry, scalarOps);
    const want = m.model.forward(win, fresh, { logits: 'last' });
    assert.equal(maxAbsDiff(rows[t]!, want).maxAbsDiff, 0, `token ${t}`);
  }
});

test('endless generation: `generate -n 0` keeps going far past the training length', async (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tok === undefined) return;
  const cli = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'generate', '-m', bin, '--tokenizer', tok, '-n', '0', '--temp', '0.9', '--seed', '1', '--no-stop-at-eos', '--cache', 'sink', '--sinks', '4', '--window', '28']);
  let out = '';
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    // ~4 chars per token: 8000 chars is well past 128 positions and 32-token caches.
    if (out.length > 8000) child.kill('SIGINT');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await done;
  clearTimeout(timer);
  assert.ok(out.length > 8000, `only ${out.length} chars before exit ${code}`);
  assert.ok(code === 0 || code === null, `exit code ${code}`);
});
