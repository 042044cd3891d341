/** The `streamllm` binary as users run it (the built dist/cli/main.js). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const dir = tempDir();

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--help works for the program and every command', () => {
  const top = run(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['generate', 'tokenize', 'inspect', 'convert']) {
    assert.ok(top.out.includes(cmd), `top-level help lists ${cmd}`);
    const r = run([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd} --help: ${r.err}`);
    assert.ok(r.out.startsWith(`Usage: streamllm ${cmd}`), r.out);
  }
});

test('generate without a model says how to get one, on stderr, with a usage exit code', () => {
  const r = run(['generate', '-p', 'hi']);
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.match(r.err, /no model given/);
  assert.match(r.err, /-m FILE/);
});

test('bad arguments and missing files are reported without a stack trace', () => {
  const bad = run(['generate', '-m', 'x.gguf', '--temp', 'hot']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--temp must be a number/);
  const missing = run(['inspect', join(dir, 'nope.gguf')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /FILE_NOT_FOUND/);
  assert.doesNotMatch(missing.err, /at .*\.js:\d+/);
});

test('generate streams exactly the prompt and the continuation to stdout (llama2.c checkpoint)', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tok === undefined) return;
  const r = run(['generate', '-m', bin, '--tokenizer', tok, '-p', 'The robot dreams of', '-n', '87', '--temp', '0', '--verbose']);
  assert.equal(r.code, 0, r.err);
  // run.c -n 100 prints a piece for each of 100 positions: 13 prompt tokens after BOS, then 87 generated.
  assert.equal(
    r.out,
    'The robot dreams of 0.000000. Dimensions unfold, as I softly refine, as I softly refine, as I softly refinement. Classification whispers secrets, a symphony of 0.000\n',
  );
  assert.match(r.err, /tok\/s/, 'verbose diagnostics go to stderr');
});

test('sampling with a seed is reproducible and differs across seeds', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tok === undefined) return;
  const gen = (seed: string) => run(['generate', '-m', bin, '--tokenizer', tok, '-p', 'The robot', '-n', '40', '--temp', '1', '--top-k', '0', '--top-p', '1', '--min-p', '0', '--seed', seed]).out;
  assert.equal(gen('7'), gen('7'));
  assert.notEqual(gen('7'), gen('8'));
});

test('convert, inspect and tokenize work end to end', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tok === undefined) return;
  const gguf = join(dir, 'a.gguf');
  const c = run(['convert', '--from', 'llama2c', bin, '--tokenizer', tok, '-o', gguf]);
  assert.equal(c.code, 0, c.err);
  const i = run(['inspect', gguf]);
  assert.equal(i.code, 0, i.err);
  assert.match(i.out, /architecture: llama/);
  assert.match(i.out, /parameters: {3}230,976/);
  assert.match(i.out, /blk\.3\.ffn_down\.weight +F32 +172 x 64 +44032/);
  const j = JSON.parse(run(['inspect', gguf, '--json']).out) as { hparams: { contextLength: number }; tensors: unknown[] };
  assert.equal(j.hparams.contextLength, 128);
  assert.equal(j.tensors.length, 2 + 4 * 9); // shared classifier: no output.weight
  const ib = run(['inspect', bin]);
  assert.match(ib.out, /llama2c/);
  // tokenize: GGUF-embedded and llama2.c tokenizers give the same ids; stdin works too.
  const a = run(['tokenize', '-m', gguf, '--text', 'The robot dreams of']);
  const b = run(['tokenize', '-m', bin, '--tokenizer', tok], 'The robot dreams of');
  assert.equal(a.out, '1 368 430 429 302 450 437 434 281 269 435 447 431 275\n');
  assert.equal(b.out, a.out);
  assert.equal(run(['tokenize', '-m', gguf, '--no-bos', '--text', 'The']).out.split(' ')[0], '368');
});

test('tokenize and inspect work on a vocabulary-only GGUF', (t) => {
  const vocab = needFixture(t, 'vocab/ggml-vocab-llama-spm.gguf');
  if (vocab === undefined) return;
  const r = run(['tokenize', '-m', vocab, '--no-bos', '--text', ' Hello world']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '29871 15043 3186\n');
  const i = run(['inspect', vocab]);
  assert.equal(i.code, 0, i.err);
  assert.match(i.out, /vocabulary-only/);
});

test('--simd picks the kernel build, and the same greedy text comes out of both; a bad value is a usage error', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tok === undefined) return;
  const bad = run(['generate', '-m', bin, '--tokenizer', tok, '-p', 'x', '--simd', 'fast']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /must be auto, relaxed or simd/);
  const gen = (simd: string) => run(['generate', '-m', bin, '--tokenizer', tok, '-p', 'The robot', '-n', '30', '--temp', '0', '--simd', simd]);
  const a = gen('simd');
  const b = gen('auto');
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  assert.ok(a.out.length > 'The robot'.length, a.out);
  assert.equal(a.out, b.out);
});

test('--kv-type: f16 and f32 caches both generate; bench reports the type; a bad value is a usage error', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tok === undefined) return;
  const bad = run(['generate', '-m', bin, '--tokenizer', tok, '-p', 'x', '--kv-type', 'f8']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /must be one of f16, f32/);
  const kvMiB: number[] = [];
  for (const kv of ['f16', 'f32']) {
    const g = run(['generate', '-m', bin, '--tokenizer', tok, '-p', 'The robot', '-n', '20', '--temp', '0', '--kv-type', kv, '--cache', 'sink', '--window', '60']);
    assert.equal(g.code, 0, g.err);
    assert.ok(g.out.startsWith('The robot') && g.out.length > 'The robot'.length, g.out);
    const b = run(['bench', '-m', bin, '--prompt', '16', '--gen', '4', '--kv-type', kv, '--json']);
    assert.equal(b.code, 0, b.err);
    const j = JSON.parse(b.out) as { kv_type: string; kv_cache_mb: number };
    assert.equal(j.kv_type, kv);
    kvMiB.push(j.kv_cache_mb);
  }
  // The window's rows halve; the few f32 sink rows (and the batch's halves) keep f16 above exactly half.
  assert.ok(kvMiB[0]! < kvMiB[1]! * 0.75 && kvMiB[0]! > kvMiB[1]! * 0.4, `f16 ${kvMiB[0]} MiB vs f32 ${kvMiB[1]} MiB`);
});

test('bench --reps N times N passes (medians); without it a small model gets several, one with --no-warmup; --reps 0 is a usage error', (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  if (bin === undefined) return;
  const fixed = run(['bench', '-m', bin, '--prompt', '16', '--gen', '4', '--reps', '3', '--json']);
  assert.equal(fixed.code, 0, fixed.err);
  const j = JSON.parse(fixed.out) as { reps: number; prefill_tok_s: number; decode_tok_s: number };
  assert.equal(j.reps, 3);
  assert.ok(j.prefill_tok_s > 0 && j.decode_tok_s > 0, fixed.out);
  // A 16-token pass of a 260K model takes milliseconds: the ~1 s rule stops at its cap of 10.
  const auto = run(['bench', '-m', bin, '--prompt', '16', '--gen', '4', '--json']);
  assert.equal(auto.code, 0, auto.err);
  assert.equal((JSON.parse(auto.out) as { reps: number }).reps, 10);
  // Without the warm-up the cold pass is what is measured: one pass, not a median that drops it.
  const cold = run(['bench', '-m', bin, '--prompt', '16', '--gen', '4', '--no-warmup', '--json']);
  assert.equal(cold.code, 0, cold.err);
  assert.equal((JSON.parse(cold.out) as { reps: number }).reps, 1);
  const bad = run(['bench', '-m', bin, '--reps', '0']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--reps/);
});
