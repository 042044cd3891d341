/**
 * tokenizer.json through our tokenizers: for each vocabulary fixture, a
 * tokenizer.json shaped as transformers writes it must tokenize exactly like
 * the GGUF-embedded tokenizer, and like llama.cpp's own vectors (shipped
 * .inp/.out files and the project's generated vectors). Structures our
 * tokenizers cannot reproduce exactly are typed refusals.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import { GgufFile } from '../src/formats/gguf/index.js';
import { BpeTokenizer, SpmTokenizer, tokenizerFromGguf, type Tokenizer } from '../src/tokenizer/index.js';
import { hfVocabToGgufMetadata, tokenizerFromHf, vocabFromHf, type HfTokenizerFiles } from '../src/tokenizer/from-hf.js';
import { TokenType } from '../src/tokenizer/types.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { bpeTokenizerJson, PRE_TOKENIZERS, spmTokenizerJson, type HfTokenizerFixture } from './helpers/hf-tokenizer-json.js';
import { loadCases } from './helpers/vocab-vectors.js';

function gguf(path: string): Tokenizer {
  const f = GgufFile.open(path);
  try {
    return tokenizerFromGguf(f);
  } finally {
    f.close();
  }
}

const files = (fx: HfTokenizerFixture): HfTokenizerFiles => ({ tokenizer: fx.tokenizer, config: fx.config, name: 'tokenizer.json' });

function sameTokens(a: Tokenizer, b: Tokenizer, texts: readonly string[]): void {
  assert.equal(a.vocabSize, b.vocabSize);
  assert.equal(a.bos, b.bos);
  assert.equal(a.eos, b.eos);
  assert.equal(a.addBos, b.addBos);
  for (const text of texts) {
    for (const parseSpecial of [false, true]) {
      const want = b.encode(text, { parseSpecial });
      assert.deepEqual(a.encode(text, { parseSpecial }), want, `${JSON.stringify(text)} (parseSpecial ${parseSpecial})`);
      assert.equal(a.decode(want), b.decode(want), `decode ${JSON.stringify(text)}`);
    }
  }
}

test('Llama SentencePiece as tokenizer.json (BPE + byte fallback) = the GGUF tokenizer = llama.cpp vectors', (t) => {
  const path = needFixture(t, 'vocab/ggml-vocab-llama-spm.gguf');
  const inp = needFixture(t, 'vocab/ggml-vocab-llama-spm.gguf.inp');
  const out = needFixture(t, 'vocab/ggml-vocab-llama-spm.gguf.out');
  if (path === undefined || inp === undefined || out === undefined) return;
  const fx = spmTokenizerJson(path);
  const v = vocabFromHf(files(fx), { vocabSize: 32000 });
  assert.equal(v.kind, 'spm');
  const hf = tokenizerFromHf(files(fx));
  assert.ok(hf instanceof SpmTokenizer);
  const cases = loadCases(inp, out);
  for (const c of cases) assert.deepEqual(hf.encode(c.text, { addBos: false }), c.ids, JSON.stringify(c.text));
  sameTokens(hf, gguf(path), [...cases.map((c) => c.text), '<s>Hello</s> world <unk>', '  leading\tand\ntrailing  ']);
  t.diagnostic(`${cases.length} llama.cpp vectors, ${(fx.tokenizer['model'] as { merges: string[] }).merges.length} merges`);
  // Written as GGUF metadata (scores from merge order) and read back: the same tokenizer.
  const back = tokenizerFromGguf({ metadata: new Map(hfVocabToGgufMetadata(v)), name: 'converted' });
  sameTokens(back, hf, cases.map((c) => c.text));
});

const BPE_FIXTURES = [
  { name: 'mpt', pre: PRE_TOKENIZERS.gpt2, modelType: 'mpt', want: 'mpt', normalizer: { type: 'NFC' } },
  { name: 'gpt-2', pre: PRE_TOKENIZERS.gpt2, modelType: 'gpt2', want: 'gpt-2' },
  { name: 'falcon', pre: PRE_TOKENIZERS.falcon, modelType: 'falcon', want: 'falcon' },
] as const;

for (const fx of BPE_FIXTURES) {
  test(`${fx.name}: byte-level tokenizer.json = the GGUF tokenizer = llama.cpp's vectors`, (t) => {
    const path = needFixture(t, `vocab/ggml-vocab-${fx.name}.gguf`);
    if (path === undefined) return;
    const json = bpeTokenizerJson(path, fx.pre, 'normalizer' in fx ? { normalizer: fx.normalizer } : {});
    const v = vocabFromHf(files(json), { modelType: fx.modelType });
    assert.ok(v.kind === 'bpe');
    assert.equal(v.vocab.pre, fx.want);
    const hf = tokenizerFromHf(files(json), { modelType: fx.modelType });
    assert.ok(hf instanceof BpeTokenizer);
    const vectors = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'data', 'vocab-vectors', `${fx.name}.json`), 'utf8')) as {
      cases: { text: string; ids: number[]; idsParseSpecial: number[] }[];
    };
    for (const c of vectors.cases) {
      assert.deepEqual(hf.encode(c.text, { addBos: false }), c.ids, JSON.stringify(c.text));
      assert.deepEqual(hf.encode(c.text, { addBos: false, parseSpecial: true }), c.idsParseSpecial, `${JSON.stringify(c.text)} (special)`);
    }
    sameTokens(hf, gguf(path), vectors.cases.map((c) => c.text));
    t.diagnostic(`${vectors.cases.length} llama.cpp vectors`);
  });
}

test("starcoder: the Digits + ByteLevel pipeline = llama.cpp's shipped vectors", (t) => {
  const path = needFixture(t, 'vocab/ggml-vocab-starcoder.gguf');
  const inp = needFixture(t, 'vocab/ggml-vocab-starcoder.gguf.inp');
  const out = needFixture(t, 'vocab/ggml-vocab-starcoder.gguf.out');
  if (path === undefined || inp === undefined || out === undefined) return;
  const hf = tokenizerFromHf(files(bpeTokenizerJson(path, PRE_TOKENIZERS.starcoder)));
  for (const c of loadCases(inp, out)) assert.deepEqual(hf.encode(c.text, { addBos: false }), c.ids, JSON.stringify(c.text));
});

function gpt2(t: TestContext): HfTokenizerFixture | undefined {
  const path = needFixture(t, 'vocab/ggml-vocab-gpt-2.gguf');
  return path === undefined ? undefined : bpeTokenizerJson(path, PRE_TOKENIZERS.gpt2);
}

test('gpt-neox: padded to the model vocab_size with UNUSED [PAD<id>] tokens; a smaller vocab_size is refused', (t) => {
  const fx = gpt2(t);
  if (fx === undefined) return;
  const v = vocabFromHf(files(fx), { vocabSize: 50304 });
  assert.equal(v.vocab.tokens.length, 50304);
  assert.equal(v.vocab.tokens[50300], '[PAD50300]');
  assert.equal(v.vocab.types[50300], TokenType.UNUSED);
  assert.throws(() => vocabFromHf(files(fx), { vocabSize: 50000 }), (e: unknown) => e instanceof StreamLlmError && e.code === 'TOKENIZER_BAD_VOCAB');
});

test('Llama 3 and Qwen2 pipelines are recognized by their Split regex (with ignore_merges for Llama 3)', (t) => {
  const fx = gpt2(t);
  if (fx === undefined) return;
  const model = fx.tokenizer['model'] as Record<string, unknown>;
  const split = (regex: string) => ({
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  });
  const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const l3 = vocabFromHf({ tokenizer: { ...fx.tokenizer, pre_tokenizer: split(llama3), model: { ...model, ignore_merges: true } } });
  assert.equal(l3.kind === 'bpe' && l3.vocab.pre, 'llama-bpe');
  const q = vocabFromHf({ tokenizer: { ...fx.tokenizer, pre_tokenizer: split(qwen2) } });
  assert.equal(q.kind === 'bpe' && q.vocab.pre, 'qwen2');
  // ignore_merges must fit the family: Llama 3 without it is a different tokenizer.
  assertUnsupported(() => vocabFromHf({ tokenizer: { ...fx.tokenizer, pre_tokenizer: split(llama3) } }), 'ignore_merges');
});

function assertUnsupported(fn: () => unknown, mention: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StreamLlmError, String(e));
    assert.equal(e.code, 'TOKENIZER_UNSUPPORTED', e.message);
    assert.ok(e.message.includes(mention) || JSON.stringify(e.context).includes(mention), `${e.message} should mention ${mention}`);
    return true;
  });
}

test('what our tokenizers cannot reproduce exactly is TOKENIZER_UNSUPPORTED, not approximated', (t) => {
  const fx = gpt2(t);
  if (fx === undefined) return;
  const model = fx.tokenizer['model'] as Record<string, unknown>;
  const with_ = (patch: Record<string, unknown>) => () => vocabFromHf({ tokenizer: { ...fx.tokenizer, ...patch } });
  assertUnsupported(with_({ model: { ...model, type: 'Unigram' } }), 'Unigram');
  assertUnsupported(with_({ model: { ...model, type: 'WordPiece' } }), 'WordPiece');
  assertUnsupported(with_({ pre_tokenizer: { type: 'Whitespace' } }), 'Whitespace');
  assertUnsupported(with_({ pre_tokenizer: { ...PRE_TOKENIZERS.gpt2, add_prefix_space: true } }), 'prefix');
  assertUnsupported(with_({ normalizer: { type: 'Lowercase' } }), 'Lowercase');
  assertUnsupported(with_({ model: { ...model, byte_fallback: true } }), 'byte_fallback');
  assertUnsupported(with_({ model: { ...model, dropout: 0.1 } }), 'dropout');

  // SentencePiece style whose merges are not "all splits, grouped by piece".
  const sp = {
    model: { type: 'BPE', byte_fallback: true, unk_token: '<unk>', vocab: { '<unk>': 0, '▁': 1, a: 2, b: 3, c: 4, ab: 5, bc: 6, abc: 7, '▁a': 8 }, merges: ['a b', 'b c', 'ab c', '▁ a'] },
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    added_tokens: [{ id: 0, content: '<unk>', special: true }],
  };
  assertUnsupported(() => vocabFromHf({ tokenizer: sp }), '"a" + "bc"'); // abc = a + bc has no merge
  const grouped = { ...sp, model: { ...sp.model, merges: ['a b', 'ab c', 'b c', 'a bc', '▁ a'] } };
  assertUnsupported(() => vocabFromHf({ tokenizer: grouped }), 'not adjacent'); // abc's merges split by b c
  const ok = { ...sp, model: { ...sp.model, merges: ['a b', 'b c', 'ab c', 'a bc', '▁ a'] } };
  const v = vocabFromHf({ tokenizer: ok });
  assert.equal(v.kind, 'spm');
  assert.deepEqual(tokenizerFromHf({ tokenizer: ok }).encode('abc a', { addBos: false }), [1, 7, 8]);
  assertUnsupported(() => vocabFromHf({ tokenizer: { ...ok, normalizer: { type: 'NFKC' } } }), 'byte_fallback');
  assertUnsupported(() => vocabFromHf({ tokenizer: { ...ok, normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, ...ok.normalizer.normalizers] } } }), 'NFKC');
  assertUnsupported(() => vocabFromHf({ tokenizer: { ...ok, model: { ...ok.model, byte_fallback: false } } }), 'byte_fallback');
});

test('malformed tokenizer.json is TOKENIZER_BAD_VOCAB naming the field', () => {
  const bad = (tokenizer: unknown, field: string) =>
    assert.throws(() => vocabFromHf({ tokenizer }), (e: unknown) => {
      assert.ok(e instanceof StreamLlmError && e.code === 'TOKENIZER_BAD_VOCAB', String(e));
      assert.equal(e.context.field, field, e.message);
      return true;
    });
  const model = { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] };
  const pre = PRE_TOKENIZERS.gpt2;
  bad('[]', '');
  bad({ pre_tokenizer: pre }, 'model');
  bad({ pre_tokenizer: pre, model: { ...model, vocab: { a: -1 } } }, 'model.vocab');
  bad({ pre_tokenizer: pre, model: { ...model, vocab: { a: 0, b: 0 } } }, 'model.vocab');
  bad({ pre_tokenizer: pre, model: { ...model, merges: ['ab'] } }, 'model.merges');
  bad({ pre_tokenizer: pre, model, added_tokens: [{ id: 'x', content: 'y' }] }, 'added_tokens');
  assert.throws(() => vocabFromHf({ tokenizer: { pre_tokenizer: pre, model }, config: { bos_token: '<zzz>' } }), (e: unknown) => {
    assert.ok(e instanceof StreamLlmError && e.code === 'TOKENIZER_BAD_VOCAB' && e.context.field === 'bos_token', String(e));
    return true;
  });
});

test('any field of tokenizer.json replaced by odd JSON values: a tokenizer or a typed error, never a crash', (t) => {
  const fx = gpt2(t);
  if (fx === undefined) return;
  const sp = {
    model: { type: 'BPE', byte_fallback: true, unk_token: '<unk>', vocab: { '<unk>': 0, '▁': 1, a: 2, '▁a': 3 }, merges: ['▁ a'] },
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<unk>', type_id: 0 } }] },
    added_tokens: [{ id: 0, content: '<unk>', special: true }],
  };
  const small = { ...fx.tokenizer, model: { ...(fx.tokenizer['model'] as object), vocab: { a: 0, b: 1, ab: 2, 'Ġ': 3 }, merges: ['a b'] } };
  const odd: unknown[] = [null, 0, -1, 1.5, 'x', '', true, [], {}, [null], [1, 2], { type: 5 }, { type: 'Sequence' }, { type: 'Sequence', normalizers: [null], pretokenizers: [7] }];
  let tried = 0;
  for (const base of [sp, small] as Record<string, unknown>[]) {
    const paths: string[][] = [];
    for (const [k, v] of Object.entries(base)) {
      paths.push([k]);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) for (const k2 of Object.keys(v)) paths.push([k, k2]);
    }
    for (const path of paths) {
      for (const value of odd) {
        const json = structuredClone(base);
        let at = json;
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[path.at(-1)!] = value;
        tried++;
        try {
          tokenizerFromHf({ tokenizer: json, config: { bos_token: 'a' } }).encode('a ab b', { parseSpecial: true });
        } catch (e) {
          assert.ok(e instanceof StreamLlmError, `${path.join('.')} = ${JSON.stringify(value)}: ${String((e as Error)?.stack ?? e)}`);
        }
      }
    }
  }
  t.diagnostic(`${tried} variants`);
});
