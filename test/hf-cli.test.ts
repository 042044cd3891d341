/**
 * `streamllm convert --from hf DIR -o OUT.gguf [--type ...]` and a Hugging
 * Face folder given to `generate -m DIR`, through the CLI entry point (run
 * from source with tsx, so it does not depend on a fresh build).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRandomModel } from '../src/convert/random.js';
import { GgufFile } from '../src/formats/gguf/index.js';
import { GgmlType } from '../src/tensor/dtype.js';
import type { Hparams } from '../src/models/types.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { hfDirFromGguf } from './helpers/hf-dir.js';
import { spmTokenizerJson } from './helpers/hf-tokenizer-json.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('streamllm-hfcli-');
const MAIN = join(PROJECT_ROOT, 'src', 'cli', 'main.ts');

function run(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', cwd: PROJECT_ROOT, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const HP: Hparams = {
  arch: 'llama', vocabSize: 32000, dim: 64, layers: 2, nHeads: 4, kvHeads: 2, headDim: 16, ffnDim: 96, contextLength: 64, normEps: 1e-5,
  rope: { base: 10000, dims: 16, style: 'adjacent', freqScale: 1 },
};

test('convert --from hf writes a GGUF with the tokenizer; generate runs on the folder itself', (t) => {
  const vocab = needFixture(t, 'vocab/ggml-vocab-llama-spm.gguf');
  if (vocab === undefined) return;
  const weights = join(dir, 'w.gguf');
  writeRandomModel(weights, { hparams: HP, seed: 2, type: GgmlType.F16 });
  const folder = join(dir, 'tiny-llama');
  const tok = spmTokenizerJson(vocab);
  hfDirFromGguf(weights, folder, { dtype: 'BF16', tokenizer: tok.tokenizer, tokenizerConfig: tok.config });

  const out = join(dir, 'out.gguf');
  const c = run(['convert', '--from', 'hf', folder, '-o', out, '--type', 'q8_0']);
  assert.equal(c.code, 0, c.err);
  assert.match(c.err, /wrote .*out\.gguf/);
  const f = GgufFile.open(out);
  try {
    assert.equal(f.getString('general.architecture'), 'llama');
    assert.equal(f.getString('tokenizer.ggml.model'), 'llama');
    assert.equal(f.tensor('blk.0.attn_q.weight')!.type, GgmlType.Q8_0);
    assert.equal(f.tensor('blk.0.attn_norm.weight')!.type, GgmlType.F32);
  } finally {
    f.close();
  }
  const keep = join(dir, 'keep.gguf');
  assert.equal(run(['convert', '--from', 'hf', folder, '-o', keep]).code, 0);
  const k = GgufFile.open(keep);
  assert.equal(k.tensor('blk.0.attn_q.weight')!.type, GgmlType.BF16, 'without --type the checkpoint dtype is kept');
  k.close();

  const g = run(['generate', '-m', folder, '-p', 'Hello', '-n', '8', '--temp', '0']);
  assert.equal(g.code, 0, g.err);
  assert.ok(g.out.startsWith('Hello'), g.out);
  const g2 = run(['generate', '-m', out, '-p', 'Hello', '-n', '8', '--temp', '0']);
  assert.equal(g2.code, 0, g2.err);

  // inspect and tokenize read the folder too (config.json + safetensors + tokenizer.json), and agree with the GGUF.
  const i = run(['inspect', folder]);
  assert.equal(i.code, 0, i.err);
  assert.match(i.out, /\(.*hf\)/);
  assert.match(i.out, /architecture: /);
  assert.match(i.out, /blk\.0\.attn_q\.weight/);
  const tf = run(['tokenize', '-m', folder, '--text', 'Hello world, streaming!']);
  const tg = run(['tokenize', '-m', keep, '--text', 'Hello world, streaming!']);
  assert.equal(tf.code, 0, tf.err);
  assert.equal(tf.out, tg.out);
});

test('convert --from hf errors are typed and reported without a stack trace', () => {
  const missing = run(['convert', '--from', 'hf', join(dir, 'nope'), '-o', join(dir, 'x.gguf')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /FILE_NOT_FOUND/);
  assert.doesNotMatch(missing.err, /at .*\.ts:\d+/);
  const withTok = run(['convert', '--from', 'hf', dir, '--tokenizer', 'x.bin', '-o', join(dir, 'x.gguf')]);
  assert.equal(withTok.code, 2);
  assert.match(withTok.err, /--tokenizer is for llama2c/);
  const other = run(['convert', '--from', 'onnx', dir, '-o', join(dir, 'x.gguf')]);
  assert.equal(other.code, 2);
  assert.match(other.err, /supported: llama2c, hf/);
});
