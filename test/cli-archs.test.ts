/** `inspect`, `tokenize`, `generate` and `ppl` on every architecture, through the built CLI. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRandomModel } from '../src/convert/random.js';
import { GgufFile } from '../src/formats/gguf/index.js';
import type { Hparams } from '../src/models/types.js';
import { tokenizerFromGguf } from '../src/tokenizer/index.js';
import { vocabMetadata } from './helpers/arch-oracle.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const dir = tempDir();
const common = { dim: 48, layers: 2, nHeads: 6, kvHeads: 6, headDim: 8, ffnDim: 80, contextLength: 64, normEps: Math.fround(1e-5) } as const;
const rope = (style: 'adjacent' | 'halves', dims = 8) => ({ base: 10000, dims, style, freqScale: 1 }) as const;

const CASES: [string, string, Omit<Hparams, 'vocabSize'>][] = [
  ['llama', 'ggml-vocab-llama-spm.gguf', { arch: 'llama', ...common, kvHeads: 2, rope: rope('adjacent') } as Omit<Hparams, 'vocabSize'>],
  ['qwen2', 'ggml-vocab-gpt-2.gguf', { arch: 'qwen2', ...common, kvHeads: 2, rope: rope('halves'), qkvBias: true } as Omit<Hparams, 'vocabSize'>],
  ['gptneox', 'ggml-vocab-gpt-neox.gguf', { arch: 'gptneox', ...common, rope: rope('halves', 4), parallelResidual: true } as Omit<Hparams, 'vocabSize'>],
  ['falcon', 'ggml-vocab-falcon.gguf', { arch: 'falcon', ...common, kvHeads: 1, rope: rope('halves'), separateAttnNorm: false } as Omit<Hparams, 'vocabSize'>],
  ['mpt', 'ggml-vocab-mpt.gguf', { arch: 'mpt', ...common, alibiMaxBias: 8, clampKqv: undefined, bias: false } as Omit<Hparams, 'vocabSize'>],
];

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const text = join(dir, 'text.txt');
writeFileSync(text, 'The quick brown fox jumps over the lazy dog. 12345 — ünïcödé and code: if (x) { return y; }\n'.repeat(8));

for (const [arch, vocabFile, hp] of CASES) {
  test(`${arch}: inspect, tokenize, generate and ppl through the CLI`, (t) => {
    const vocab = needFixture(t, `vocab/${vocabFile}`);
    if (vocab === undefined) return;
    const v = GgufFile.open(vocab);
    const vocabSize = v.getStringArray('tokenizer.ggml.tokens').length;
    const tok = tokenizerFromGguf(v);
    v.close();
    const path = join(dir, `${arch}.gguf`);
    writeRandomModel(path, { hparams: { ...hp, vocabSize } as Hparams, seed: 9, metadata: vocabMetadata(vocab) });

    const i = run(['inspect', path]);
    assert.equal(i.code, 0, i.err);
    assert.match(i.out, new RegExp(`architecture: ${arch}`));

    const k = run(['tokenize', '-m', path, '--no-bos', '--text', 'Hello world, streaming!']);
    assert.equal(k.code, 0, k.err);
    assert.equal(k.out.trim(), tok.encode('Hello world, streaming!', { addBos: false }).join(' '));

    // Past the 64-token context: the default sink cache keeps going.
    const g = run(['generate', '-m', path, '-p', 'Hello', '-n', '100', '--temp', '0', '--no-stop-at-eos', '--cache', 'sink', '--sinks', '4', '--window', '20']);
    assert.equal(g.code, 0, g.err);
    assert.ok(g.out.startsWith('Hello'), g.out.slice(0, 40));

    const p = run(['ppl', '-m', path, '--text', text, '--cache', 'sink', '--sinks', '4', '--window', '28', '--json']);
    assert.equal(p.code, 0, p.err);
    const r = JSON.parse(p.out) as { ppl: number; tokens_scored: number };
    assert.ok(Number.isFinite(r.ppl) && r.ppl > 1, `ppl ${r.ppl}`);
    assert.ok(r.tokens_scored > 64, `scored ${r.tokens_scored}`);
  });
}
