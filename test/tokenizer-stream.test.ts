/**
 * The streaming decoder must never emit half a UTF-8 character: emoji and
 * CJK text that the vocabulary only has as byte tokens are fed one id at a
 * time, and the chunks must join to exactly `decode(ids)` with no U+FFFD.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GgufFile } from '../src/formats/gguf/index.js';
import { readLlama2cTokenizer } from '../src/formats/llama2c/tokenizer.js';
import { SpmTokenizer, tokenizerFromGguf, type Tokenizer } from '../src/tokenizer/index.js';
import { needFixture } from './helpers/fixtures.js';

const TEXTS = [
  '🦙 llamas 🚀 and 😶‍🌫️ (ZWJ sequence)',
  '我想在apple工作 — 世界你好',
  'កាន់តែពិសេស',
  'Cửa Việt, нещо на Български, ½ ö ε λ',
  '\n\n  mixed 🦙\t世\n',
];

function streamAll(tok: Tokenizer, ids: readonly number[]): string[] {
  const dec = tok.createStreamDecoder();
  const chunks = ids.map((id) => dec.push(id));
  chunks.push(dec.flush());
  return chunks;
}

function checkStreaming(tok: Tokenizer, text: string): void {
  const ids = tok.encode(text);
  const chunks = streamAll(tok, ids);
  for (const [i, c] of chunks.entries()) assert.ok(!c.includes('\ufffd'), `chunk ${i} of ${JSON.stringify(text)} has U+FFFD: ${JSON.stringify(c)}`);
  assert.equal(chunks.join(''), tok.decode(ids));
  assert.equal(chunks.join(''), text);
}

function byteTokenCount(tok: Tokenizer, ids: readonly number[]): number {
  return ids.filter((id) => /^<0x[0-9A-F]{2}>$/.test(tok.tokenText(id))).length;
}

function ggufTokenizer(t: TestContext): Tokenizer | undefined {
  const p = needFixture(t, 'vocab/ggml-vocab-llama-spm.gguf');
  if (p === undefined) return undefined;
  const f = GgufFile.open(p);
  try {
    return tokenizerFromGguf(f);
  } finally {
    f.close();
  }
}

test('llama-spm: emoji and CJK split into byte tokens stream without partial characters', (t) => {
  const tok = ggufTokenizer(t);
  if (tok === undefined) return;
  // Make sure the test exercises byte tokens at all: 🦙 is <0xF0><0x9F><0xA6><0x99> here.
  assert.deepEqual(tok.encode('🦙', { addBos: false }), [29871, 243, 162, 169, 156]);
  const dec = tok.createStreamDecoder();
  assert.deepEqual([29871, 243, 162, 169].map((id) => dec.push(id)), ['', '', '', '']);
  assert.equal(dec.push(156), '🦙');
  for (const text of TEXTS) checkStreaming(tok, text);
});

test('aidreams (llama2.c) vocabulary: most non-ASCII text is byte tokens', (t) => {
  const p = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (p === undefined) return;
  const tok = new SpmTokenizer(readLlama2cTokenizer(p, { vocabSize: 512 }));
  for (const text of TEXTS) {
    assert.ok(byteTokenCount(tok, tok.encode(text)) > 0);
    checkStreaming(tok, text);
  }
});

test('streaming matches decode for random texts, with BOS and skipped controls mid-stream', (t) => {
  const tok = ggufTokenizer(t);
  if (tok === undefined) return;
  const pieces = ['a', ' ', 'é', '世', '🦙', '😶‍🌫️', '\n', 'ก', 'Hello', '  '];
  let seed = 42;
  for (let k = 0; k < 300; k++) {
    let text = '';
    for (let n = 0; n < 12; n++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      text += pieces[(seed >>> 8) % pieces.length];
    }
    checkStreaming(tok, text);
    // BOS in the middle of a stream starts a new document: both paths strip
    // the prefix space after it the same way.
    const ids: number[] = [...tok.encode(text), ...tok.encode(text), 2];
    const chunks = streamAll(tok, ids);
    assert.equal(chunks.join(''), tok.decode(ids));
    assert.equal(chunks.join(''), text + text);
  }
});

test('flush emits U+FFFD for an unfinished character and resets', (t) => {
  const tok = ggufTokenizer(t);
  if (tok === undefined) return;
  const dec = tok.createStreamDecoder();
  assert.equal(dec.push(15043), 'Hello'); // first piece: prefix space stripped
  assert.equal(dec.push(243), ''); // <0xF0>: start of a 4-byte sequence
  assert.equal(dec.push(162), '');
  assert.equal(dec.flush(), '\ufffd');
  assert.equal(dec.push(3186), ' world');
  assert.equal(dec.flush(), '');
  // The one-shot decode agrees on the malformed sequence.
  assert.equal(tok.decode([15043, 243, 162]), 'Hello\ufffd');
});

test('stream decoder renders control tokens only when asked', (t) => {
  const tok = ggufTokenizer(t);
  if (tok === undefined) return;
  const plain = tok.createStreamDecoder();
  assert.deepEqual([1, 15043, 2].map((id) => plain.push(id)), ['', 'Hello', '']);
  const shown = tok.createStreamDecoder({ skipSpecial: false });
  assert.deepEqual([1, 15043, 2].map((id) => shown.push(id)), ['<s>', 'Hello', '</s>']);
});
