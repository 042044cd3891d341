/**
 * Streaming detokenization for byte-level BPE: a byte-level token often ends
 * in the middle of a UTF-8 character (an emoji is three GPT-2 tokens), so
 * the stream decoder must hold bytes back, never emit U+FFFD for a character
 * that is still arriving, and join to exactly `decode(ids)`. Also: long
 * inputs encode fast and round-trip.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GgufFile } from '../src/formats/gguf/index.js';
import { BpeTokenizer, tokenizerFromGguf } from '../src/tokenizer/index.js';
import { needFixture } from './helpers/fixtures.js';

const TEXTS = [
  '🦙 llamas 🚀 and 😶‍🌫️ (ZWJ sequence), 👨‍👩‍👧‍👦, 🇯🇵',
  '我想在apple工作 — 世界你好',
  'កាន់តែពិសេស',
  'Cửa Việt, нещо на Български, ½ ö ε λ',
  '\n\n  mixed 🦙\t世\n',
  'def f(x):\n    return x  # 💡 idea\n',
];

const VOCABS = ['gpt-2', 'gpt-neox', 'mpt', 'falcon', 'starcoder', 'refact', 'deepseek-coder'];

function open(t: TestContext, name: string): BpeTokenizer | undefined {
  const p = needFixture(t, `vocab/ggml-vocab-${name}.gguf`);
  if (p === undefined) return undefined;
  const f = GgufFile.open(p);
  try {
    const tok = tokenizerFromGguf(f);
    assert.ok(tok instanceof BpeTokenizer);
    return tok;
  } finally {
    f.close();
  }
}

function streamAll(tok: BpeTokenizer, ids: readonly number[], skipSpecial = true): string[] {
  const dec = tok.createStreamDecoder({ skipSpecial });
  const chunks = ids.map((id) => dec.push(id));
  chunks.push(dec.flush());
  return chunks;
}

test('gpt-2: an emoji split over three byte-level tokens streams as one character', (t) => {
  const tok = open(t, 'gpt-2');
  if (tok === undefined) return;
  // Expected ids from node-llama-cpp 3.21.1 on this file.
  assert.deepEqual(tok.encode('🦙'), [8582, 99, 247]);
  const dec = tok.createStreamDecoder();
  assert.deepEqual([8582, 99].map((id) => dec.push(id)), ['', '']);
  assert.equal(dec.push(247), '🦙');
  // ' 世界': the space is its own token, then each character is split over two tokens.
  assert.deepEqual(tok.encode(' 世界'), [220, 10310, 244, 45911, 234]);
  assert.deepEqual(streamAll(tok, [220, 10310, 244, 45911, 234]), [' ', '', '世', '', '界', '']);
  // A stream that stops inside a character ends with U+FFFD, once.
  const cut = tok.createStreamDecoder();
  assert.equal(cut.push(8582) + cut.push(99), '');
  assert.equal(cut.flush(), '\ufffd');
});

for (const name of VOCABS) {
  test(`${name}: streamed chunks have no partial characters and join to decode(ids)`, (t) => {
    const tok = open(t, name);
    if (tok === undefined) return;
    for (const text of TEXTS) {
      const ids = tok.encode(text);
      const chunks = streamAll(tok, ids);
      for (const [i, c] of chunks.entries()) assert.ok(!c.includes('\ufffd'), `${name}: chunk ${i} of ${JSON.stringify(text)} is ${JSON.stringify(c)}`);
      assert.equal(chunks.join(''), tok.decode(ids));
      assert.equal(chunks.join(''), text);
    }
    // Special tokens between characters: rendered or not, the stream matches decode().
    const special = tok.encode(`${TEXTS[0]}<|endoftext|>${TEXTS[1]}`, { parseSpecial: true });
    for (const skipSpecial of [true, false]) {
      assert.equal(streamAll(tok, special, skipSpecial).join(''), tok.decode(special, { skipSpecial }));
    }
  });
}

test('gpt-2 and deepseek-coder: 100 KB of mixed text encodes in well under a second and round-trips', (t) => {
  for (const name of ['gpt-2', 'deepseek-coder']) {
    const tok = open(t, name);
    if (tok === undefined) return;
    const words = ['stream', 'attention', ' sink', 'Привет', '世界', '🦙', 'tokenizer', '\n', '  ', 'x=1;', "l'été", 'ok', '1234567', '\t'];
    let text = '';
    let seed = 7;
    while (text.length < 100_000) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      text += words[seed % words.length] + (seed & 256 ? ' ' : '');
      // Unique words too, so the per-word cache cannot hide the merge cost.
      if ((seed >>> 12) % 5 === 0) text += ` w${(seed >>> 4).toString(36)}`;
    }
    tok.encode(text.slice(0, 5000)); // warm up the JIT
    const t0 = performance.now();
    const ids = tok.encode(text);
    const ms = performance.now() - t0;
    assert.equal(tok.decode(ids), text);
    assert.equal(streamAll(tok, ids).join(''), text);
    // Typically ~30 ms; the bound leaves room for slow CI machines.
    assert.ok(ms < 1000, `${name}: encoding 100 KB took ${ms.toFixed(0)} ms`);
  }
});
