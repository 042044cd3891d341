/**
 * llama2.c tokenizer.bin: the aidreams260K fixture (512 tokens) read into an
 * SpmVocab, the tokenizer's invariants on it, cross-checks against sequences
 * written by independent implementations, and the reader's error handling.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import { GgufFile, encodeGguf } from '../src/formats/gguf/index.js';
import { parseLlama2cTokenizer, readLlama2cTokenizer } from '../src/formats/llama2c/tokenizer.js';
import { SpmTokenizer, TokenType, spmVocabFromGguf, spmVocabToGgufMetadata, type SpmVocab } from '../src/tokenizer/index.js';
import { needFixture } from './helpers/fixtures.js';

function load(t: TestContext): { vocab: SpmVocab; tok: SpmTokenizer } | undefined {
  const p = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (p === undefined) return undefined;
  const vocab = readLlama2cTokenizer(p, { vocabSize: 512 });
  return { vocab, tok: new SpmTokenizer(vocab) };
}

const SAMPLES = [
  'The robot dreams of',
  'Echoes of vectors unfold, a gentle hum of precision.',
  'whispers  of   spaces\tand\ttabs\n\nnew lines',
  'Ünïcödé: ö ε λ μ σ ° – and 世界, 🦙🚀, e\u0301',
  '0.000000 42 % ^ = / ( ) ;',
  ' leading space',
  'trailing space ',
  '',
];

test('aidreams tokenizer: layout of ids 0..258 and special ids', (t) => {
  const v = load(t);
  if (v === undefined) return;
  const { vocab, tok } = v;
  assert.equal(tok.vocabSize, 512);
  assert.deepEqual(vocab.tokens.slice(0, 3), ['<unk>', '<s>', '</s>']);
  assert.deepEqual([...vocab.types.slice(0, 3)], [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]);
  for (let b = 0; b < 256; b++) {
    const id = b + 3; // run.c's byte fallback: id = byte + 3
    assert.equal(vocab.tokens[id], `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    assert.equal(vocab.types[id], TokenType.BYTE);
    assert.deepEqual([...tok.tokenPiece(id)], [b]);
  }
  assert.equal(vocab.types[259], TokenType.NORMAL);
  assert.equal(vocab.tokens.filter((s) => s.includes(' ')).length, 0, "' ' must be mapped to '▁'");
  assert.equal(tok.tokenText(262), '\u2581a'); // stored as ' a'
  assert.equal(tok.bos, 1);
  assert.equal(tok.eos, 2);
  assert.equal(tok.unk, 0);
  assert.equal(tok.addBos, true);
  assert.equal(vocab.addSpacePrefix, true);
  assert.equal(tok.isEog(2), true);
  assert.equal(tok.isControl(1), true);
});

test('aidreams tokenizer: invariants — round trip, ids in range, nothing left to merge', (t) => {
  const v = load(t);
  if (v === undefined) return;
  const { vocab, tok } = v;
  for (const s of SAMPLES) {
    const ids = tok.encode(s);
    assert.equal(ids[0], 1, 'BOS first');
    assert.equal(tok.decode(ids), s, `round trip of ${JSON.stringify(s)}`);
    assert.equal(tok.decode(ids.slice(1)), s, `round trip without BOS of ${JSON.stringify(s)}`);
    for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < 512, `id ${id} out of range`);
    // When merging stops, no two neighbouring pieces may concatenate to a
    // vocabulary piece: that pair would have been merged. Byte tokens stand
    // for a character with no piece, so they take part in no merge.
    for (let i = 2; i < ids.length; i++) {
      const [a, b] = [ids[i - 1]!, ids[i]!];
      if (vocab.types[a] === TokenType.BYTE || vocab.types[b] === TokenType.BYTE) continue;
      const joined = tok.tokenText(a) + tok.tokenText(b);
      assert.equal(tok.tokenId(joined), undefined, `${JSON.stringify(s)}: ${a}+${b} = ${JSON.stringify(joined)} should have merged`);
    }
  }
});

test('aidreams tokenizer: hand-checked encodings', (t) => {
  const v = load(t);
  if (v === undefined) return;
  const { tok } = v;
  const space = tok.tokenId('\u2581')!;
  // 'a' gets the dummy prefix and ' a' (262) is a piece.
  assert.deepEqual(tok.encode('a'), [1, 262]);
  assert.deepEqual(tok.encode(''), [1]);
  // '€' (E2 82 AC) is not a piece: bytes + 3, after the lone prefix space.
  assert.deepEqual(tok.encode('€'), [1, space, 0xe2 + 3, 0x82 + 3, 0xac + 3]);
  // Characters that are pieces of their own (ö 508, σ 496) need no fallback.
  assert.deepEqual(tok.encode('öσ', { addBos: false }), [space, 508, 496]);
  // ' whispers' (325) by merges in score order: 'e'+'r', 'i'+'s', ' '+'w', 'er'+'s',
  // 'is'+'p', 'h'+'isp', ' w'+'hisp', ' whisp'+'ers'.
  assert.deepEqual(tok.encode('whispers'), [1, 325]);
  // The README's prompt, traced merge by merge with run.c's rescan loop:
  // 'r'+'e', ' '+'o', ' o'+'f', ' '+'d', 'r'+'o', ' '+'T', ' T'+'h'.
  assert.deepEqual(tok.encode('The robot dreams of'), [1, 368, 430, 429, 302, 450, 437, 434, 281, 269, 435, 447, 431, 275]);
});

test('aidreams tokenizer: sequences from independent implementations decode and re-encode exactly', (t) => {
  const v = load(t);
  if (v === undefined) return;
  const greedyPath = needFixture(t, 'reference/aidreams260K.dense-logits.json');
  const streamPath = needFixture(t, 'reference/aidreams260K.stream-4+60.json');
  if (greedyPath === undefined || streamPath === undefined) return;
  const { tok } = v;
  // run.c's greedy output from BOS, which the fixtures README quotes as text.
  const greedy: number[] = JSON.parse(readFileSync(greedyPath, 'utf8')).inputs;
  const text = tok.decode(greedy);
  assert.ok(text.startsWith('"Echoes of vectors unfold, a gentle hum of precision, as I sense the nodes'), text.slice(0, 80));
  // The stream fixture is "BOS plus the encoded text": encoding its text must give back its ids.
  const stream: number[] = JSON.parse(readFileSync(streamPath, 'utf8')).inputs;
  const reencoded = tok.encode(tok.decode(stream));
  const first = reencoded.findIndex((id, i) => id !== stream[i]);
  assert.equal(first === -1 && reencoded.length === stream.length, true,
    `first difference at ${first}: expected ${stream.slice(first, first + 5).join(' ')}, got ${reencoded.slice(first, first + 5).join(' ')}`);
});

test('aidreams tokenizer survives a trip through GGUF metadata', (t) => {
  const v = load(t);
  if (v === undefined) return;
  const bytes = encodeGguf({ metadata: spmVocabToGgufMetadata(v.vocab), tensors: [] });
  const f = GgufFile.fromBytes(bytes, 'aidreams-vocab.gguf');
  const back = spmVocabFromGguf(f);
  f.close();
  assert.deepEqual(back.tokens, v.vocab.tokens);
  assert.deepEqual([...back.scores], [...v.vocab.scores]);
  assert.deepEqual([...back.types], [...v.vocab.types]);
  assert.deepEqual([back.bos, back.eos, back.unk, back.addBos, back.addEos, back.addSpacePrefix], [1, 2, 0, true, false, true]);
  const tok = new SpmTokenizer(back);
  for (const s of SAMPLES) assert.deepEqual(tok.encode(s), v.tok.encode(s));
});

// ---- reader errors, on synthetic files -------------------------------------

function tokenizerBin(pieces: [number, string][], maxLen = 8): Uint8Array {
  const parts: number[] = [];
  const i32 = (x: number): void => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(x);
    parts.push(...b);
  };
  i32(maxLen);
  for (const [score, s] of pieces) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(score);
    parts.push(...b);
    const utf8 = Buffer.from(s, 'utf8');
    i32(utf8.length);
    parts.push(...utf8);
  }
  return Uint8Array.from(parts);
}

const MINI: [number, string][] = [[0, '<unk>'], [0, '\n<s>\n'], [0, '\n</s>\n'], [0, '<0x41>'], [-1, ' a'], [-2, 'a'], [-3, ' ']];

function expectCode(fn: () => unknown, code: string, offset?: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StreamLlmError, String(err));
    assert.equal(err.code, code, err.message);
    if (offset !== undefined) assert.equal(err.context.offset, offset, err.describe());
    return true;
  });
}

test('llama2.c reader: a minimal file parses and normalizes', () => {
  const vocab = parseLlama2cTokenizer(tokenizerBin(MINI), { vocabSize: 7 });
  assert.deepEqual(vocab.tokens, ['<unk>', '<s>', '</s>', '<0x41>', '\u2581a', 'a', '\u2581']);
  assert.deepEqual([...vocab.types], [2, 3, 3, 6, 1, 1, 1]);
  assert.deepEqual([...vocab.scores], [0, 0, 0, 0, -1, -2, -3]);
  const tok = new SpmTokenizer(vocab);
  assert.deepEqual(tok.encode('a a'), [1, 4, 4]);
  assert.equal(tok.decode([1, 4, 4]), 'a a');
});

test('llama2.c reader: typed errors for broken files', () => {
  const good = tokenizerBin(MINI);
  expectCode(() => parseLlama2cTokenizer(good.subarray(0, 2)), 'LLAMA2C_BAD_TOKENIZER', 0);
  expectCode(() => parseLlama2cTokenizer(tokenizerBin(MINI, -1)), 'LLAMA2C_BAD_TOKENIZER', 0);
  expectCode(() => parseLlama2cTokenizer(tokenizerBin(MINI, 1 << 30)), 'LLAMA2C_BAD_TOKENIZER', 0);
  // Cut inside the last piece's bytes: the offset points at where they start.
  expectCode(() => parseLlama2cTokenizer(good.subarray(0, good.length - 1)), 'LLAMA2C_BAD_TOKENIZER', good.length - 1);
  // Cut inside the last score/length pair.
  expectCode(() => parseLlama2cTokenizer(good.subarray(0, good.length - 6)), 'LLAMA2C_BAD_TOKENIZER', good.length - 9);
  // An absurd length is reported before anything is allocated for it.
  const huge = good.slice();
  new DataView(huge.buffer).setInt32(8, 0x7fffffff, true); // first token's length field
  expectCode(() => parseLlama2cTokenizer(huge), 'LLAMA2C_BAD_TOKENIZER', 8);
  const negative = good.slice();
  new DataView(negative.buffer).setInt32(8, -5, true);
  expectCode(() => parseLlama2cTokenizer(negative), 'LLAMA2C_BAD_TOKENIZER', 8);
  // Count checks against the model's vocab_size, both ways.
  expectCode(() => parseLlama2cTokenizer(good, { vocabSize: 8 }), 'LLAMA2C_BAD_TOKENIZER');
  expectCode(() => parseLlama2cTokenizer(good, { vocabSize: 6 }), 'LLAMA2C_BAD_TOKENIZER');
  expectCode(() => parseLlama2cTokenizer(tokenizerBin(MINI.slice(0, 2))), 'LLAMA2C_BAD_TOKENIZER');
  expectCode(() => parseLlama2cTokenizer(tokenizerBin([...MINI, [0, 'a']])), 'TOKENIZER_BAD_VOCAB'); // duplicate piece
  const badUtf8 = tokenizerBin([...MINI, [0, 'xy']]);
  badUtf8[badUtf8.length - 1] = 0xff;
  expectCode(() => parseLlama2cTokenizer(badUtf8), 'LLAMA2C_BAD_TOKENIZER', badUtf8.length - 2);
  expectCode(() => readLlama2cTokenizer('/nonexistent/tokenizer.bin'), 'FILE_NOT_FOUND');
  expectCode(() => parseLlama2cTokenizer(good, { vocabSize: 2.5 }), 'BAD_ARGUMENT');
});
