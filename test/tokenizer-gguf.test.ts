/**
 * tokenizerFromGguf / spmVocabFromGguf: defaults, accepted value types and
 * the typed errors for missing, unsupported and malformed tokenizers. Most
 * cases use an in-memory metadata map; the real GPT-2 vocabulary checks the
 * dispatch to byte-level BPE end to end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import { GgufFile, GgufValueType, type GgufEntry, type GgufValue } from '../src/formats/gguf/index.js';
import { BpeTokenizer, SpmTokenizer, spmVocabFromGguf, tokenizerFromGguf } from '../src/tokenizer/index.js';
import { needFixture } from './helpers/fixtures.js';

const arr = (itemType: GgufValueType, items: readonly GgufValue[]): GgufEntry => ({ type: GgufValueType.ARRAY, value: { itemType, items } });
const str = (value: string): GgufEntry => ({ type: GgufValueType.STRING, value });
const u32 = (value: number): GgufEntry => ({ type: GgufValueType.UINT32, value });
const bool = (value: boolean): GgufEntry => ({ type: GgufValueType.BOOL, value });

const TOKENS = ['<unk>', '<s>', '</s>', '\u2581', 'a', '\u2581a', '<0x0A>', '<|end|>'];

function base(): Map<string, GgufEntry> {
  return new Map<string, GgufEntry>([
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.tokens', arr(GgufValueType.STRING, TOKENS)],
    ['tokenizer.ggml.scores', arr(GgufValueType.FLOAT32, [0, 0, 0, -3, -2, -1, 0, 0])],
    ['tokenizer.ggml.token_type', arr(GgufValueType.INT32, [2, 3, 3, 1, 1, 1, 6, 4])],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
    ['tokenizer.ggml.unknown_token_id', u32(0)],
  ]);
}

function src(over: [string, GgufEntry | undefined][] = []): { metadata: Map<string, GgufEntry>; name: string } {
  const m = base();
  for (const [k, v] of over) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
  return { metadata: m, name: 'test.gguf' };
}

function expectError(fn: () => unknown, code: string, field?: string): StreamLlmError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return err instanceof StreamLlmError && err.code === code && (field === undefined || err.context.field === field);
  });
  return caught as StreamLlmError;
}

test('llama.cpp defaults when the optional keys are absent', () => {
  const v = spmVocabFromGguf(src());
  assert.equal(v.addBos, true);
  assert.equal(v.addEos, false);
  assert.equal(v.addSpacePrefix, true);
  assert.equal(v.byteFallback, true);
  assert.equal(v.pad, undefined);
  const tok = tokenizerFromGguf(src());
  assert.deepEqual(tok.encode('a a'), [1, 5, 5]);
  assert.equal(tok.isEog(7), true, '<|end|> recognised by its text');
  assert.equal(tok.isControl(7), true, 'and made CONTROL, as llama.cpp does');
  assert.deepEqual(tok.encode('a<|end|>', { addBos: false }).includes(7), false);
});

test('explicit flags, int32 scores, 64-bit ids', () => {
  const tok = tokenizerFromGguf(src([
    ['tokenizer.ggml.add_space_prefix', bool(false)],
    ['tokenizer.ggml.add_bos_token', bool(false)],
    ['tokenizer.ggml.add_eos_token', bool(true)],
    ['tokenizer.ggml.scores', arr(GgufValueType.INT32, [0, 0, 0, -3, -2, -1, 0, 0])],
    ['tokenizer.ggml.padding_token_id', { type: GgufValueType.UINT64, value: 3n }],
  ]));
  assert.ok(tok instanceof SpmTokenizer);
  assert.equal(tok.vocab.pad, 3);
  assert.deepEqual(tok.encode('a a'), [4, 5, 2]);
  assert.equal(tok.decode([4, 5]), 'a a');
});

test('missing tokenizer metadata is TOKENIZER_MISSING with a hint', () => {
  const e = expectError(() => tokenizerFromGguf(src([['tokenizer.ggml.model', undefined]])), 'TOKENIZER_MISSING', 'tokenizer.ggml.model');
  assert.ok(e.hint !== undefined && e.hint.length > 0);
  assert.equal(e.context.file, 'test.gguf');
  expectError(() => tokenizerFromGguf(src([['tokenizer.ggml.tokens', undefined]])), 'TOKENIZER_MISSING', 'tokenizer.ggml.tokens');
});

test('other tokenizer families are TOKENIZER_UNSUPPORTED', () => {
  // 'gpt2' is byte-level BPE: the SPM loader refuses it, tokenizerFromGguf needs its merges.
  const e = expectError(() => spmVocabFromGguf(src([['tokenizer.ggml.model', str('gpt2')]])), 'TOKENIZER_UNSUPPORTED');
  assert.match(e.message, /byte-level BPE/);
  expectError(() => tokenizerFromGguf(src([['tokenizer.ggml.model', str('gpt2')]])), 'TOKENIZER_MISSING', 'tokenizer.ggml.merges');
  expectError(() => tokenizerFromGguf(src([['tokenizer.ggml.model', str('t5')]])), 'TOKENIZER_UNSUPPORTED');
  expectError(() => tokenizerFromGguf(src([['tokenizer.ggml.model', str('mystery')]])), 'TOKENIZER_UNSUPPORTED');
});

test('the real GPT-2 vocabulary loads as byte-level BPE, and the SPM loader refuses it', (t) => {
  const p = needFixture(t, 'vocab/ggml-vocab-gpt-2.gguf');
  if (p === undefined) return;
  const f = GgufFile.open(p);
  try {
    assert.ok(tokenizerFromGguf(f) instanceof BpeTokenizer);
    expectError(() => spmVocabFromGguf(f), 'TOKENIZER_UNSUPPORTED');
  } finally {
    f.close();
  }
});

test('malformed vocabularies are TOKENIZER_BAD_VOCAB naming the key', () => {
  const cases: [string, GgufEntry][] = [
    ['tokenizer.ggml.bos_token_id', u32(8)],
    ['tokenizer.ggml.eos_token_id', { type: GgufValueType.INT32, value: -1 }],
    ['tokenizer.ggml.unknown_token_id', str('0')],
    ['tokenizer.ggml.scores', arr(GgufValueType.FLOAT32, [0, 0])],
    ['tokenizer.ggml.token_type', arr(GgufValueType.FLOAT32, [1, 1, 1, 1, 1, 1, 1, 1])],
    ['tokenizer.ggml.tokens', arr(GgufValueType.INT32, [1, 2, 3])],
    ['tokenizer.ggml.add_bos_token', u32(1)],
    ['tokenizer.ggml.model', u32(1)],
  ];
  for (const [key, entry] of cases) expectError(() => tokenizerFromGguf(src([[key, entry]])), 'TOKENIZER_BAD_VOCAB', key);
  expectError(() => tokenizerFromGguf(src([['tokenizer.ggml.tokens', arr(GgufValueType.STRING, [...TOKENS.slice(0, 7), 'a'])]])), 'TOKENIZER_BAD_VOCAB', 'tokens');
});
