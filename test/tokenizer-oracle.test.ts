/**
 * Differential test against llama.cpp itself (through node-llama-cpp, a dev
 * dependency): random strings built from tricky pieces — whitespace runs,
 * emoji with ZWJ, combining marks, '▁', special-token texts — must encode to
 * the same ids, and random id sequences must decode to the same text.
 *
 * Decoding is compared only on sequences without BOS and control tokens: at
 * a sequence start we deliberately follow llama2.c (strip the prefix space
 * after BOS) where llama.cpp keeps it; see detokenize.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgufFile, GgufValueType, writeGguf, type GgufEntry } from '../src/formats/gguf/index.js';
import { readLlama2cTokenizer } from '../src/formats/llama2c/tokenizer.js';
import { SpmTokenizer, spmVocabToGgufMetadata, tokenizerFromGguf, type Tokenizer } from '../src/tokenizer/index.js';
import { needFixture } from './helpers/fixtures.js';
import { useLlamaOracle, type Llama } from './helpers/llama-oracle.js';

const oracle = useLlamaOracle({ quiet: true });
type OracleModel = Awaited<ReturnType<Llama['loadModel']>>;

const PIECES = [
  ' ', ' ', ' ', '  ', '\n', '\n\n', '\t', '\r', 'a', 'b', 'e', 'the', 'Hello', 'ing', '1', '3', '333', '.', ',', "'", '!', '(',
  'é', 'ü', 'ñ', 'я', 'ж', '世', '界', '🦙', '🚀', '\u200d', '\ufe0f', '\u0301', 'ẞ', 'ก', '\u2581', '\u00a0', '\u3000', '\ufeff',
  '<s>', '</s>', '<unk>', '<|end|>', '<|user|>', '<0x0A>',
];

function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function compareEncode(tok: Tokenizer, model: OracleModel, seed: number, cases: number): string[] {
  const rnd = lcg(seed);
  const failures: string[] = [];
  for (let k = 0; k < cases; k++) {
    let s = '';
    for (let i = rnd(20); i > 0; i--) s += PIECES[rnd(PIECES.length)];
    for (const parseSpecial of [false, true]) {
      const want = [...model.tokenize(s, parseSpecial)].map(Number);
      const got = tok.encode(s, { addBos: false, parseSpecial });
      if (want.join(' ') !== got.join(' ')) {
        failures.push(`parseSpecial=${parseSpecial} ${JSON.stringify(s)}\n  llama.cpp ${want.join(' ')}\n  ours      ${got.join(' ')}`);
      }
    }
  }
  return failures;
}

for (const name of ['llama-spm', 'phi-3']) {
  test(`${name}: encode and decode agree with llama.cpp on random input`, async (t) => {
    const path = needFixture(t, `vocab/ggml-vocab-${name}.gguf`);
    if (path === undefined) return;
    const llama = oracle.get();
    if (llama === undefined) return t.skip(oracle.whyNot());
    const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    try {
      const f = GgufFile.open(path);
      const tok = tokenizerFromGguf(f);
      f.close();
      const failures = compareEncode(tok, model, 1234, 1500);
      assert.equal(failures.length, 0, `${failures.length} encode mismatches:\n${failures.slice(0, 10).join('\n')}`);

      const rnd = lcg(99);
      const decodeFailures: string[] = [];
      for (let k = 0; k < 1500; k++) {
        const ids: number[] = [];
        for (let len = 1 + rnd(8); ids.length < len; ) {
          const id = rnd(tok.vocabSize);
          if (!tok.isControl(id) && id !== tok.bos && tok.tokenText(id) !== '<unk>') ids.push(id);
        }
        const want = model.detokenize(ids as never, false);
        const got = tok.decode(ids);
        if (want !== got) decodeFailures.push(`${ids.join(' ')}: llama.cpp ${JSON.stringify(want)} ours ${JSON.stringify(got)}`);
      }
      assert.deepEqual(decodeFailures.slice(0, 10), []);
    } finally {
      await model.dispose();
    }
  });
}

test('llama2.c tokenizer exported to GGUF tokenizes identically in llama.cpp', async (t) => {
  const tokPath = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (tokPath === undefined) return;
  const llama = oracle.get();
  if (llama === undefined) return t.skip(oracle.whyNot());
  const vocab = readLlama2cTokenizer(tokPath, { vocabSize: 512 });
  const u32 = (value: number): GgufEntry => ({ type: GgufValueType.UINT32, value });
  // llama.cpp reads hyperparameters even for a vocabulary-only load.
  const metadata: [string, GgufEntry][] = [
    ['general.architecture', { type: GgufValueType.STRING, value: 'llama' }],
    ['llama.context_length', u32(128)],
    ['llama.embedding_length', u32(64)],
    ['llama.block_count', u32(4)],
    ['llama.feed_forward_length', u32(172)],
    ['llama.attention.head_count', u32(4)],
    ['llama.attention.layer_norm_rms_epsilon', { type: GgufValueType.FLOAT32, value: Math.fround(1e-5) }],
    ...spmVocabToGgufMetadata(vocab),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'streamllm-tok-'));
  try {
    const path = join(dir, 'aidreams-vocab.gguf');
    writeGguf(path, { metadata, tensors: [] });
    const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    try {
      const failures = compareEncode(new SpmTokenizer(vocab), model, 77, 800);
      assert.equal(failures.length, 0, `${failures.length} mismatches:\n${failures.slice(0, 10).join('\n')}`);
    } finally {
      await model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
