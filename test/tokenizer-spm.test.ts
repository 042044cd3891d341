/**
 * SpmTokenizer on tiny hand-made vocabularies, where every expected output
 * can be worked out on paper: merge order and tie-breaking, byte fallback vs
 * unk, special-token matching, rendering per token type, validation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import { SpmTokenizer, TokenType, type SpmVocab } from '../src/tokenizer/index.js';

const { NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE } = TokenType;

/** Ids 0..2 are <unk>, <s>, </s>; then `extra` as [piece, score, type]. */
function vocab(extra: [string, number, number?][], over: Partial<SpmVocab> = {}): SpmVocab {
  const all: [string, number, number][] = [['<unk>', 0, UNKNOWN], ['<s>', 0, CONTROL], ['</s>', 0, CONTROL], ...extra.map(([p, s, t]): [string, number, number] => [p, s, t ?? NORMAL])];
  return {
    tokens: all.map((x) => x[0]),
    scores: Float32Array.from(all.map((x) => x[1])),
    types: Int32Array.from(all.map((x) => x[2])),
    unk: 0,
    bos: 1,
    eos: 2,
    addBos: false,
    addEos: false,
    addSpacePrefix: false,
    byteFallback: false,
    ...over,
  };
}

function pieces(tok: SpmTokenizer, text: string): string[] {
  return tok.encode(text).map((id) => tok.tokenText(id));
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof StreamLlmError && err.code === code);
}

test('merges the highest-scoring pair first, leftmost on ties', () => {
  const tok = new SpmTokenizer(vocab([['a', 0], ['b', 0], ['c', 0], ['ab', 1], ['ba', 1], ['bc', 2]]));
  assert.deepEqual(pieces(tok, 'aba'), ['ab', 'a']);
  assert.deepEqual(pieces(tok, 'bab'), ['ba', 'b']);
  assert.deepEqual(pieces(tok, 'abc'), ['a', 'bc']);
});

test('merged symbols merge again; stale candidates are ignored', () => {
  const tok = new SpmTokenizer(vocab([['a', 0], ['aa', 1], ['aaaa', 2]]));
  assert.deepEqual(pieces(tok, 'aaaa'), ['aaaa']); // aa|a|a, aa|aa, aaaa
  assert.deepEqual(pieces(tok, 'aaa'), ['aa', 'a']);
  assert.deepEqual(pieces(tok, 'aaaaa'), ['aaaa', 'a']);
  assert.deepEqual(pieces(tok, 'a'.repeat(10)), ['aaaa', 'aaaa', 'aa']);
});

test('space prefix, ▁ escaping and decoding strip', () => {
  const tok = new SpmTokenizer(vocab([['\u2581', 0], ['a', 0], ['\u2581a', 1]], { addSpacePrefix: true, addBos: true }));
  assert.deepEqual(tok.encode('a a'), [1, 5, 5]);
  assert.equal(tok.decode(tok.encode('a a')), 'a a');
  assert.equal(tok.decode(tok.encode(' a')), ' a');
  assert.deepEqual(tok.encode(''), [1]);
  assert.deepEqual(tok.encode('', { addBos: false }), []);
  assert.deepEqual(tok.encode('a', { addEos: true }), [1, 5, 2]);
});

test('a custom spaceChar is honoured both ways', () => {
  const tok = new SpmTokenizer(vocab([['_', 0], ['a', 0], ['_a', 1]], { addSpacePrefix: true, spaceChar: '_' }));
  assert.deepEqual(pieces(tok, 'a a'), ['_a', '_a']);
  assert.equal(tok.decode(tok.encode('a a')), 'a a');
});

test('unknown characters: byte tokens with byte fallback, else unk', () => {
  const bytes: [string, number, number][] = [];
  for (let b = 0; b < 256; b++) bytes.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0, BYTE]);
  const withBytes = new SpmTokenizer(vocab([['a', 0], ...bytes], { byteFallback: true }));
  // 'é' = C3 A9; byte b has id 4 + b.
  assert.deepEqual(withBytes.encode('aé'), [3, 4 + 0xc3, 4 + 0xa9]);
  assert.equal(withBytes.decode([3, 4 + 0xc3, 4 + 0xa9]), 'aé');
  const noFallback = new SpmTokenizer(vocab([['a', 0]]));
  assert.deepEqual(noFallback.encode('aéé'), [3, 0, 0]);
  // With fallback but no byte pieces, unk is the last resort; without unk it is an error.
  const partial = new SpmTokenizer(vocab([['a', 0]], { byteFallback: true }));
  assert.deepEqual(partial.encode('é'), [0]);
  expectCode(() => new SpmTokenizer(vocab([['a', 0]], { unk: undefined })).encode('é'), 'TOKENIZER_BAD_VOCAB');
});

test('special tokens: user-defined always, control/unknown only with parseSpecial, longest first', () => {
  const tok = new SpmTokenizer(vocab([['x', 0], ['<', 0], ['>', 0], ['s', 0], ['/', 0], ['<u>', 0, USER_DEFINED], ['<u><u>', 0, USER_DEFINED]]));
  assert.deepEqual(tok.encode('x<u>x'), [3, 8, 3]);
  assert.deepEqual(tok.encode('<u><u><u>'), [9, 8]);
  assert.deepEqual(tok.encode('x<s>'), [3, 4, 6, 5]);
  assert.deepEqual(tok.encode('x<s>', { parseSpecial: true }), [3, 1]);
  assert.deepEqual(tok.encode('<unk></s>', { parseSpecial: true }), [0, 2]);
});

test('lstrip / rstrip swallow whitespace around a special token', () => {
  const tok = new SpmTokenizer(vocab([['x', 0], ['\u2581', 0], ['<u>', 0, USER_DEFINED]], { lstripIds: [5], rstripIds: [5] }));
  assert.deepEqual(tok.encode('x \t<u> \nx'), [3, 5, 3]);
});

test('rendering per token type', () => {
  const tok = new SpmTokenizer(vocab([['\u2581x', 0], ['\u2581u', 0, USER_DEFINED], ['<pad>', 0, UNUSED], ['<0x41>', 0, BYTE]]));
  const text = (id: number): string => Buffer.from(tok.tokenPiece(id)).toString('utf8');
  assert.equal(text(3), ' x');
  assert.equal(text(4), '\u2581u', 'user-defined pieces render verbatim, as in llama.cpp');
  assert.equal(text(5), '');
  assert.equal(text(6), 'A');
  assert.equal(text(0), '');
  assert.equal(tok.decode([0, 1, 3, 2]), ' x');
  assert.equal(tok.decode([0, 1, 3, 2], { skipSpecial: false }), '<unk><s> x</s>');
  // tokenPiece hands out a copy: scribbling on it changes nothing.
  tok.tokenPiece(3).fill(0);
  assert.equal(text(3), ' x');
});

test('out-of-range ids are TOKEN_OUT_OF_RANGE', () => {
  const tok = new SpmTokenizer(vocab([['x', 0]]));
  for (const id of [-1, 4, 1.5, Number.NaN]) {
    expectCode(() => tok.decode([id]), 'TOKEN_OUT_OF_RANGE');
    expectCode(() => tok.tokenText(id), 'TOKEN_OUT_OF_RANGE');
    expectCode(() => tok.createStreamDecoder().push(id), 'TOKEN_OUT_OF_RANGE');
  }
  assert.equal(tok.isEog(99), false);
});

test('vocabulary validation', () => {
  expectCode(() => new SpmTokenizer(vocab([['x', 0], ['x', 1]])), 'TOKENIZER_BAD_VOCAB');
  expectCode(() => new SpmTokenizer({ ...vocab([['x', 0]]), scores: new Float32Array(2) }), 'TOKENIZER_BAD_VOCAB');
  expectCode(() => new SpmTokenizer({ ...vocab([['x', 0]]), types: new Int32Array(9) }), 'TOKENIZER_BAD_VOCAB');
  expectCode(() => new SpmTokenizer(vocab([['x', 0]], { bos: 4 })), 'TOKENIZER_BAD_VOCAB');
  expectCode(() => new SpmTokenizer(vocab([['x', 0]], { addBos: true, bos: undefined })), 'TOKENIZER_BAD_VOCAB');
  expectCode(() => new SpmTokenizer(vocab([['x', 0]], { eogIds: [-1] })), 'TOKENIZER_BAD_VOCAB');
  expectCode(() => new SpmTokenizer(vocab([['x', 0]], { bos: undefined })).encode('x', { addBos: true }), 'BAD_ARGUMENT');
});
