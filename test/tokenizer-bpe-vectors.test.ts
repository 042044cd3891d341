/**
 * Byte-level BPE against llama.cpp's ids, 100% required:
 *  - llama.cpp's own vectors shipped with the fixtures (starcoder, refact,
 *    deepseek-coder), parsed as in tokenizer-vectors.test.ts;
 *  - the project's vectors in test/data/vocab-vectors/ (gpt-2, gpt-neox, mpt,
 *    falcon), produced by scripts/gen-bpe-vectors.ts with node-llama-cpp:
 *    ids with and without parse_special, and llama.cpp's detokenized text.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { GgufFile } from '../src/formats/gguf/index.js';
import { BpeTokenizer, tokenizerFromGguf } from '../src/tokenizer/index.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { loadCases, type VectorCase } from './helpers/vocab-vectors.js';

interface GeneratedVectors {
  vocab: { file: string; sha256: string };
  cases: { text: string; ids: number[]; idsParseSpecial: number[]; detokenized: string }[];
}

function openBpe(path: string): BpeTokenizer {
  const f = GgufFile.open(path);
  try {
    const tok = tokenizerFromGguf(f);
    assert.ok(tok instanceof BpeTokenizer, `${path} should give a BpeTokenizer`);
    return tok;
  } finally {
    f.close();
  }
}

/** "expected/actual" with the first differing position, for a readable failure. */
function mismatch(text: string, want: readonly number[], got: readonly number[]): string {
  let i = 0;
  while (i < want.length && want[i] === got[i]) i++;
  return `input ${JSON.stringify(text)} (first difference at token ${i})\n  expected ${want.join(' ')}\n  actual   ${got.join(' ')}`;
}

function shipped(t: TestContext, name: string): { tok: BpeTokenizer; cases: VectorCase[] } | undefined {
  const gguf = needFixture(t, `vocab/ggml-vocab-${name}.gguf`);
  const inp = needFixture(t, `vocab/ggml-vocab-${name}.gguf.inp`);
  const out = needFixture(t, `vocab/ggml-vocab-${name}.gguf.out`);
  if (gguf === undefined || inp === undefined || out === undefined) return undefined;
  return { tok: openBpe(gguf), cases: loadCases(inp, out) };
}

for (const name of ['starcoder', 'refact', 'deepseek-coder']) {
  test(`${name}: all llama.cpp vectors encode identically`, (t) => {
    const v = shipped(t, name);
    if (v === undefined) return;
    assert.ok(v.cases.length >= 40, `only ${v.cases.length} cases parsed`);
    const failures: string[] = [];
    for (const c of v.cases) {
      const got = v.tok.encode(c.text, { addBos: false, parseSpecial: false });
      if (got.join(' ') !== c.ids.join(' ')) failures.push(mismatch(c.text, c.ids, got));
    }
    assert.equal(failures.length, 0, `${failures.length}/${v.cases.length} mismatches:\n${failures.join('\n')}`);
  });

  test(`${name}: decode(encode(x)) round-trips every vector input`, (t) => {
    const v = shipped(t, name);
    if (v === undefined) return;
    for (const c of v.cases) {
      for (const addBos of [false, true]) assert.equal(v.tok.decode(v.tok.encode(c.text, { addBos })), c.text, JSON.stringify(c.text));
    }
  });
}

for (const name of ['gpt-2', 'gpt-neox', 'mpt', 'falcon']) {
  const data = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'data', 'vocab-vectors', `${name}.json`), 'utf8')) as GeneratedVectors;

  test(`${name}: all generated llama.cpp vectors encode and decode identically`, (t) => {
    const path = needFixture(t, `vocab/${data.vocab.file}`);
    if (path === undefined) return;
    const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
    assert.equal(sha, data.vocab.sha256, `${data.vocab.file} is not the file the vectors were generated from; rerun scripts/gen-bpe-vectors.ts`);
    const tok = openBpe(path);
    assert.ok(data.cases.length >= 40, `only ${data.cases.length} cases`);
    const failures: string[] = [];
    for (const c of data.cases) {
      const plain = tok.encode(c.text, { addBos: false, parseSpecial: false });
      if (plain.join(' ') !== c.ids.join(' ')) failures.push(mismatch(c.text, c.ids, plain));
      const special = tok.encode(c.text, { addBos: false, parseSpecial: true });
      if (special.join(' ') !== c.idsParseSpecial.join(' ')) failures.push(`parseSpecial ${mismatch(c.text, c.idsParseSpecial, special)}`);
      // llama_detokenize applies clean_spaces for these vocabularies; so does decode when asked.
      const text = tok.decode(c.ids, { cleanUpSpaces: tok.cleanSpaces });
      if (text !== c.detokenized) failures.push(`decode ${c.ids.join(' ')}\n  expected ${JSON.stringify(c.detokenized)}\n  actual   ${JSON.stringify(text)}`);
    }
    assert.equal(failures.length, 0, `${failures.length} mismatches over ${data.cases.length} cases:\n${failures.join('\n')}`);
  });

  test(`${name}: decode(encode(x)) round-trips every generated input`, (t) => {
    const path = needFixture(t, `vocab/${data.vocab.file}`);
    if (path === undefined) return;
    const tok = openBpe(path);
    for (const c of data.cases) {
      // A lone surrogate cannot be UTF-8; like llama.cpp we encode U+FFFD for it.
      const expected = c.text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
      for (const parseSpecial of [false, true]) {
        assert.equal(tok.decode(tok.encode(c.text, { parseSpecial }), { skipSpecial: false }), expected, JSON.stringify(c.text));
      }
      assert.equal(tok.decode(tok.encode(c.text)), expected, JSON.stringify(c.text));
    }
  });
}
