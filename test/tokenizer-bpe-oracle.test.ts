/**
 * Differential test of byte-level BPE against llama.cpp itself (through
 * node-llama-cpp, a dev dependency): random strings built from tricky pieces
 * must encode to the same ids, with and without special-token parsing, and
 * random id sequences must decode to the same text (llama.cpp's
 * `clean_spaces` pass switched on where llama.cpp applies it).
 *
 * Every vocabulary-only BPE fixture is checked with its own pre-tokenizer.
 * Pre-tokenizers without a fixture are checked by rewriting the GPT-2
 * vocabulary with another `tokenizer.ggml.pre` (one name per regex family,
 * plus the names whose flags differ), so the splitting rules, not the
 * vocabulary, are what is compared.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgufFile, GgufValueType, writeGguf, type GgufEntry } from '../src/formats/gguf/index.js';
import { BpeTokenizer, tokenizerFromGguf } from '../src/tokenizer/index.js';
import { needFixture } from './helpers/fixtures.js';
import { useLlamaOracle, type Llama } from './helpers/llama-oracle.js';
import { tempDir } from './helpers/tmp.js';

const oracle = useLlamaOracle({ quiet: true });
type OracleModel = Awaited<ReturnType<Llama['loadModel']>>;

const PIECES = [
  // whitespace of every kind (llama.cpp's \s is Unicode White_Space)
  ' ', ' ', ' ', '  ', '    ', '\n', '\n\n', '\t', '\r', '\r\n', '\v', '\f', '\u00a0', '\u3000', '\u2009', '\u0085', '\u2028', '\ufeff',
  // words, cases and contractions
  'a', 'B', 'the', 'Hello', 'World', 'ABC', 'ing', "'", "'s", "'S", "'ll", "'Re", "'t", "'ve", "'M",
  // digits, ASCII and not
  '1', '3', '333', '12345', '\u00b2', '\u00bd', '\u0663', '\u216b',
  // punctuation and symbols, ASCII and not
  '.', ',', '!', '?', '(', ')', '$', '+', '<', '=', '>', '^', '~', '|', '`', '_', '-', '/', '\\', '"', '#', '@', '&', '*', '%', ';', ':', '[', ']', '{', '}',
  '\u2026', '\u3002', '\uff0c', '\u3001', '\uff01', '\u2018', '\u2019', '\u201c', '\u00b5', '\u2126',
  // letters of other scripts, marks, emoji, astral and odd code points
  '\u00e9', '\u00dc', '\u00f1', '\u044f', '\u0416', '\u4e16', '\u754c', '\u65e5\u672c', '\u30ab', '\u3072', '\ud55c', '\u0e01', '\u0915\u094d',
  '\u0301', '\u200d', '\ufe0f', '\u00ad', '\u1e9e', '\u01c4', '\u01c5', '\u02b0', '\u00aa', '\u0130', '\u0131', '\u017f', '\u212a',
  '\u{1F999}', '\u{1F680}', '\u{1D518}', '\ue000', '\u0378', '\u0000', '\u001b', '\u007f', '\u2581',
  // special-token texts of the fixtures
  '<|endoftext|>', '<|padding|>', '<s>', '</s>', '>>TITLE<<', '<fim_prefix>', '<file_sep>', '\u00f5', '<\uff5cfim\u2581hole\uff5c>', '<|User|>', '[PAD50300]',
];

function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function compareEncode(tok: BpeTokenizer, model: OracleModel, seed: number, cases: number): string[] {
  const rnd = lcg(seed);
  const failures: string[] = [];
  for (let k = 0; k < cases; k++) {
    let s = '';
    for (let i = rnd(24); i > 0; i--) s += PIECES[rnd(PIECES.length)];
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

/** Random ids, control tokens included, decoded with and without special-token text. */
function compareDecode(tok: BpeTokenizer, model: OracleModel, seed: number, cases: number): string[] {
  const rnd = lcg(seed);
  const failures: string[] = [];
  for (let k = 0; k < cases; k++) {
    const ids: number[] = [];
    for (let len = 1 + rnd(8); ids.length < len; ) ids.push(rnd(tok.vocabSize));
    for (const special of [false, true]) {
      const want = model.detokenize(ids as never, special);
      const got = tok.decode(ids, { skipSpecial: !special, cleanUpSpaces: tok.cleanSpaces });
      if (want !== got) failures.push(`special=${special} ${ids.join(' ')}: llama.cpp ${JSON.stringify(want)} ours ${JSON.stringify(got)}`);
    }
  }
  return failures;
}

async function checkAgainstOracle(path: string, seed: number, encodeCases: number, decodeCases: number): Promise<void> {
  const model = await oracle.get()!.loadModel({ modelPath: path, vocabOnly: true });
  try {
    const f = GgufFile.open(path);
    const tok = tokenizerFromGguf(f);
    f.close();
    assert.ok(tok instanceof BpeTokenizer);
    assert.equal(tok.addBos, model.tokens.shouldPrependBosToken, 'add_bos default differs');
    const enc = compareEncode(tok, model, seed, encodeCases);
    assert.equal(enc.length, 0, `${enc.length} encode mismatches:\n${enc.slice(0, 10).join('\n')}`);
    const dec = compareDecode(tok, model, seed + 1, decodeCases);
    assert.equal(dec.length, 0, `${dec.length} decode mismatches:\n${dec.slice(0, 10).join('\n')}`);
  } finally {
    await model.dispose();
  }
}

for (const name of ['gpt-2', 'gpt-neox', 'mpt', 'falcon', 'starcoder', 'refact', 'deepseek-coder']) {
  test(`${name}: encode and decode agree with llama.cpp on random input`, async (t) => {
    const path = needFixture(t, `vocab/ggml-vocab-${name}.gguf`);
    if (path === undefined) return;
    const llama = oracle.get();
    if (llama === undefined) return t.skip(oracle.whyNot());
    await checkAgainstOracle(path, 1234, 1200, 600);
  });
}

/** One `pre` per regex family, plus names that differ only in flags (add_bos, ignore_merges, clean_spaces). */
const REWRITTEN_PRE = [
  'default', 'starcoder', 'command-r', 'deepseek-coder', 'deepseek-llm', 'deepseek-v3', 'llama-bpe', 'dbrx', 'qwen2', 'stablelm2',
  'qwen35', 'bloom', 'poro-chat', 'viking', 'gpt-4o', 'tekken',
];

test('every pre-tokenizer family splits as llama.cpp does (GPT-2 vocabulary, rewritten pre)', async (t) => {
  const path = needFixture(t, 'vocab/ggml-vocab-gpt-2.gguf');
  if (path === undefined) return;
  const llama = oracle.get();
  if (llama === undefined) return t.skip(oracle.whyNot());
  const dir = tempDir('streamllm-bpe-pre-');
  const src = GgufFile.open(path);
  const base = [...src.metadata].filter(([k]) => k !== 'tokenizer.ggml.pre' && k !== 'general.alignment');
  src.close();
  for (const pre of REWRITTEN_PRE) {
    const file = join(dir, `${pre}.gguf`);
    const metadata: [string, GgufEntry][] = [...base, ['tokenizer.ggml.pre', { type: GgufValueType.STRING, value: pre }]];
    writeGguf(file, { metadata, tensors: [] });
    await t.test(pre, () => checkAgainstOracle(file, 99, 500, 100));
  }
});
