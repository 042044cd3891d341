/** llama2.c checkpoints: version 0 (shared / separate classifier), version 1 ("ak42"), and bad files. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import { Llama2cCheckpoint } from '../src/formats/llama2c/checkpoint.js';
import { loadModel } from '../src/runtime/index.js';
import { maxAbsDiff } from './helpers/compare.js';
import { needFixture } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();

function fixture(t: TestContext): { bin: string; bytes: Uint8Array } | undefined {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  if (bin === undefined) return undefined;
  return { bin, bytes: new Uint8Array(readFileSync(bin)) };
}

function logitsOf(path: string, ids: number[]): Float32Array {
  const s = loadModel(path).createSession();
  s.prefill(ids);
  return Float32Array.from(s.logits());
}

const IDS = [1, 368, 430, 429, 302, 450, 437];

/** The tensors of the v0 fixture, by name, as raw bytes. */
function tensorsOf(path: string): Map<string, Uint8Array> {
  const ck = Llama2cCheckpoint.open(path);
  const m = new Map<string, Uint8Array>();
  for (const t of ck.tensors) {
    const b = new Uint8Array(t.nBytes);
    ck.read(t.name, b);
    m.set(t.name, b);
  }
  ck.close();
  return m;
}

test('version 1 ("ak42") gives the same logits as the legacy version 0 file', (t) => {
  const f = fixture(t);
  if (f === undefined) return;
  const ck = Llama2cCheckpoint.open(f.bin);
  const c = ck.config;
  ck.close();
  const w = tensorsOf(f.bin);
  const L = c.layers;
  const header = new Uint8Array(256);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 0x616b3432, true);
  dv.setInt32(4, 1, true);
  [c.dim, c.hiddenDim, c.layers, c.nHeads, c.kvHeads, c.vocabSize, c.seqLen].forEach((v, i) => dv.setInt32(8 + 4 * i, v, true));
  header[36] = 1; // shared classifier
  const per = (s: string) => Array.from({ length: L }, (_, l) => w.get(`blk.${l}.${s}`)!);
  const order = [
    ...per('attn_norm.weight'),
    ...per('ffn_norm.weight'),
    w.get('output_norm.weight')!,
    w.get('token_embd.weight')!,
    ...per('attn_q.weight'),
    ...per('attn_k.weight'),
    ...per('attn_v.weight'),
    ...per('attn_output.weight'),
    ...per('ffn_gate.weight'),
    ...per('ffn_down.weight'),
    ...per('ffn_up.weight'),
  ];
  const v1 = join(dir, 'v1.bin');
  writeFileSync(v1, Buffer.concat([header, ...order]));
  const d = maxAbsDiff(logitsOf(v1, IDS), logitsOf(f.bin, IDS));
  assert.equal(d.maxAbsDiff, 0);
});

test('version 0 with a separate classifier (negative vocab_size) reads wcls after the RoPE tables', (t) => {
  const f = fixture(t);
  if (f === undefined) return;
  // Same weights, but flag the classifier as unshared and append a copy of the embedding as wcls.
  const bytes = Uint8Array.from(f.bytes);
  new DataView(bytes.buffer).setInt32(20, -512, true);
  const emb = tensorsOf(f.bin).get('token_embd.weight')!;
  const p = join(dir, 'unshared.bin');
  writeFileSync(p, Buffer.concat([bytes, emb]));
  assert.equal(Llama2cCheckpoint.open(p).config.sharedClassifier, false);
  assert.equal(maxAbsDiff(logitsOf(p, IDS), logitsOf(f.bin, IDS)).maxAbsDiff, 0);
});

test('truncated checkpoints and bad headers give typed errors naming the problem', (t) => {
  const f = fixture(t);
  if (f === undefined) return;
  const cases: [string, Uint8Array, string][] = [
    ['truncated', f.bytes.subarray(0, f.bytes.length - 100), 'LLAMA2C_TRUNCATED'],
    ['header only', f.bytes.subarray(0, 28), 'LLAMA2C_TRUNCATED'],
    ['short header', f.bytes.subarray(0, 12), 'LLAMA2C_BAD_HEADER'],
    ['empty', new Uint8Array(0), 'LLAMA2C_BAD_HEADER'],
  ];
  const zeroDim = Uint8Array.from(f.bytes);
  new DataView(zeroDim.buffer).setInt32(0, 0, true);
  cases.push(['dim 0', zeroDim, 'LLAMA2C_BAD_HEADER']);
  const hugeLayers = Uint8Array.from(f.bytes);
  new DataView(hugeLayers.buffer).setInt32(8, 1 << 30, true);
  cases.push(['absurd n_layers', hugeLayers, 'LLAMA2C_BAD_HEADER']);
  const v2 = new Uint8Array(256);
  new DataView(v2.buffer).setUint32(0, 0x616b3432, true);
  new DataView(v2.buffer).setInt32(4, 2, true);
  cases.push(['version 2', v2, 'LLAMA2C_BAD_HEADER']);
  for (const [name, data, code] of cases) {
    const p = join(dir, `bad-${name.replace(/ /g, '-')}.bin`);
    writeFileSync(p, data);
    assert.throws(
      () => loadModel(p),
      (e: unknown) => e instanceof StreamLlmError && e.code === code && e.context.file === p,
      `${name}: expected ${code}`,
    );
  }
});
