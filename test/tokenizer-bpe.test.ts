/**
 * Byte-level BPE without fixtures: the byte mapping, pre-tokenizer rules
 * (each case states the llama.cpp rule it checks), merge order on a tiny
 * hand-made vocabulary, special tokens, the clean-up pass, and the GGUF
 * loader's defaults and typed errors. Real vocabularies are covered by the
 * vector and oracle tests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import { GgufValueType, type GgufEntry, type GgufValue } from '../src/formats/gguf/index.js';
import {
  BYTE_TO_CHAR, BpeTokenizer, SUPPORTED_PRE_TOKENIZERS, TokenType, bpeVocabFromGguf, bpeVocabToGgufMetadata, bytesToByteLevel,
  cleanUpSpaces, preTokenizer, spmVocabFromGguf, tokenizerFromGguf, type BpeVocab,
} from '../src/tokenizer/index.js';

test('bytes_to_unicode: 256 distinct single-unit characters, printable bytes map to themselves', () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  for (const c of BYTE_TO_CHAR) assert.equal(c.length, 1);
  assert.equal(BYTE_TO_CHAR[0x20], '\u0120'); // 'Ġ'
  assert.equal(BYTE_TO_CHAR[0x0a], '\u010a'); // 'Ċ'
  assert.equal(BYTE_TO_CHAR[0x00], '\u0100');
  assert.equal(BYTE_TO_CHAR[0xad], '\u0143'); // the soft hyphen is the last byte moved
  for (const b of [0x21, 0x41, 0x7e, 0xa1, 0xac, 0xae, 0xff]) assert.equal(BYTE_TO_CHAR[b], String.fromCharCode(b));
  assert.equal(bytesToByteLevel(new TextEncoder().encode(' é')), '\u0120\u00c3\u00a9');
});

function split(pre: string, text: string): string[] {
  return preTokenizer(pre)!.split(text);
}

test('pre-tokenizers follow llama.cpp regex semantics', () => {
  // \s+(?!\S): a whitespace run leaves its last space to the next word.
  assert.deepEqual(split('gpt-2', 'a   b'), ['a', '  ', ' b']);
  assert.deepEqual(split('gpt-2', 'a   '), ['a', '   ']); // at the end of input the whole run goes
  // GPT-2 contractions are lower-case only; Llama 3's match either case.
  assert.deepEqual(split('gpt-2', "I'M he's"), ['I', "'", 'M', ' he', "'s"]);
  assert.deepEqual(split('llama-bpe', "I'M he's"), ['I', "'M", ' he', "'s"]);
  // Digit grouping: runs (GPT-2), threes from the left (Llama 3), single digits (Qwen2, StarCoder).
  assert.deepEqual(split('gpt-2', 'x 1234567'), ['x', ' 1234567']);
  assert.deepEqual(split('llama-bpe', '1234567'), ['123', '456', '7']);
  assert.deepEqual(split('qwen2', '123'), ['1', '2', '3']);
  assert.deepEqual(split('starcoder', ' 12'), [' ', '1', '2']);
  // 'default' first isolates punctuation runs, then applies GPT-2, then digit runs, then [0-9]{3}.
  assert.deepEqual(split('default', "it's 12345!?"), ['it', "'", 's', ' ', '123', '45', '!?']);
  // Falcon's punctuation class includes the backtick, 'default' does not.
  assert.deepEqual(split('falcon', 'a!`b'), ['a', '!`', 'b']);
  assert.deepEqual(split('default', 'a!`b'), ['a', '!', '`', 'b']);
  // \s is Unicode White_Space: U+0085 and U+3000 are spaces, U+FEFF is not.
  assert.deepEqual(split('gpt-2', 'a\u0085\u3000b'), ['a', '\u0085', '\u3000', 'b']);
  assert.deepEqual(split('gpt-2', 'a \ufeffb'), ['a', ' \ufeff', 'b']);
  // llama.cpp hides non-ASCII whitespace from classes that list it: DeepSeek-LLM's
  // punctuation class names U+3000, yet an ideographic space only joins as the optional \s.
  assert.deepEqual(split('deepseek-llm', '\uff01\u3000\uff01'), ['\uff01', '\u3000\uff01']);
  // Later regexes split the pieces of earlier ones: U+3001 is punctuation to the third
  // DeepSeek-LLM regex, but the fifth (CJK, U+0800-U+4E00) cuts it from its leading space.
  assert.deepEqual(split('deepseek-llm', ' \u3001'), [' ', '\u3001']);
  // Astral letters and emoji stay whole code points.
  assert.deepEqual(split('gpt-2', '\u{1D518}\u{1D51B} \u{1F999}\u{1F680}'), ['\u{1D518}\u{1D51B}', ' \u{1F999}\u{1F680}']);
});

test('every supported pre-tokenizer cuts text into non-empty pieces that join back', () => {
  const text = "Hello  world's 1234567\t\n\n  (a+b)==3;\u4e16\u754c I'M ok\u2026 \u{1F999}\u200d \u00a0\u3000x\ufeff\u0301 \ud55c\uad6d\uc5b4 ";
  for (const name of SUPPORTED_PRE_TOKENIZERS) {
    const words = split(name, text);
    assert.equal(words.join(''), text, name);
    assert.ok(words.every((w) => w.length > 0), `${name} produced an empty piece`);
  }
  assert.equal(preTokenizer('no-such-pre'), undefined);
  assert.equal(preTokenizer('toString'), undefined, 'only own table entries count');
});

/** 256 byte tokens, then the extra tokens; ids of the extras follow in order. */
function tinyVocab(extra: string[], merges: string[], over: Partial<BpeVocab> = {}, types: Record<number, number> = {}): BpeVocab {
  const tokens = [...BYTE_TO_CHAR, ...extra];
  const t = new Int32Array(tokens.length).fill(TokenType.NORMAL);
  for (const [id, ty] of Object.entries(types)) t[Number(id)] = ty;
  return { tokens, types: t, merges, pre: 'gpt-2', addBos: false, addEos: false, ...over };
}

const id = (ch: string): number => BYTE_TO_CHAR.indexOf(ch);

test('merges apply by rank, leftmost first on ties; merged symbols need not be tokens', () => {
  // ids: ab 256, bc 257, abc 258
  const byRank = new BpeTokenizer(tinyVocab(['ab', 'bc', 'abc'], ['b c', 'a b', 'a bc']));
  assert.deepEqual(byRank.encode('abc'), [258]); // b+c first, then a+bc
  const other = new BpeTokenizer(tinyVocab(['ab', 'bc', 'abc'], ['a b', 'b c', 'ab c']));
  assert.deepEqual(other.encode('abc'), [258]); // a+b first, then ab+c
  assert.deepEqual(other.encode('bcab'), [257, 256]);
  // Equal rank everywhere: the leftmost pair wins, so 'aaa' is aa + a.
  const tie = new BpeTokenizer(tinyVocab(['aa'], ['a a']));
  assert.deepEqual(tie.encode('aaa'), [256, id('a')]);
  assert.deepEqual(tie.encode('aaaa'), [256, 256]);
  // A merge whose result is not a token: llama.cpp emits the ASCII characters one by one.
  const gap = new BpeTokenizer(tinyVocab([], ['a a']));
  assert.deepEqual(gap.encode('aa'), [id('a'), id('a')]);
  // Spaces are byte-encoded before merging: ' a' is 'Ġa'.
  const space = new BpeTokenizer(tinyVocab(['\u0120a'], ['\u0120 a']));
  assert.deepEqual(space.encode('a a'), [id('a'), 256]);
  assert.equal(space.decode([id('a'), 256]), 'a a');
  // Rules without a space after position 0 never match (llama.cpp ignores them).
  assert.deepEqual(new BpeTokenizer(tinyVocab(['aa'], ['aa', ' a'])).encode('aa'), [id('a'), id('a')]);
});

test('special tokens: control only with parseSpecial, user-defined always; rendering and roles', () => {
  // ids: <|end|> 256 (control, end of turn by text), <eos> 257 (control), <sep> 258 (user-defined), 'x' merged 'xx' 259
  const tok = new BpeTokenizer(tinyVocab(['<|end|>', '<eos>', '<sep>', 'xx'], ['x x'], { eos: 257, bos: 257, eogIds: [256] },
    { 256: TokenType.CONTROL, 257: TokenType.CONTROL, 258: TokenType.USER_DEFINED }));
  assert.ok(!tok.encode('a<|end|>').includes(256));
  assert.deepEqual(tok.encode('xx<|end|>xx', { parseSpecial: true }), [259, 256, 259]);
  assert.deepEqual(tok.encode('xx<sep>xx'), [259, 258, 259]);
  assert.deepEqual(tok.encode('xx', { addBos: true, addEos: true }), [257, 259, 257]);
  assert.equal(tok.decode([259, 256, 258]), 'xx<sep>');
  assert.equal(tok.decode([259, 256, 258], { skipSpecial: false }), 'xx<|end|><sep>');
  assert.equal(tok.isControl(256), true);
  assert.equal(tok.isControl(258), false);
  assert.equal(tok.isEog(256), true);
  assert.equal(tok.isEog(257), true);
  assert.equal(tok.isEog(258), false);
  assert.deepEqual([...tok.tokenPiece(id('\u0120'))], [0x20]);
  assert.deepEqual([...tok.tokenPiece(256)], []);
  assert.equal(tok.tokenText(259), 'xx');
  assert.equal(tok.tokenId('xx'), 259);
  assert.throws(() => tok.decode([260]), (e: unknown) => e instanceof StreamLlmError && e.code === 'TOKEN_OUT_OF_RANGE');
  assert.throws(() => new BpeTokenizer(tinyVocab([], [])).encode('a', { addBos: true }),
    (e: unknown) => e instanceof StreamLlmError && e.code === 'BAD_ARGUMENT');
});

test('decoding: byte tokens, UNK_BYTE markers, clean-up of spaces', () => {
  // ids: <0x41> 256 (byte token), 'A世' 257 (normal, but '世' stands for no byte)
  const tok = new BpeTokenizer(tinyVocab(['<0x41>', 'A\u4e16'], [], {}, { 256: TokenType.BYTE }));
  assert.equal(tok.decode([256]), 'A');
  // llama.cpp renders a character that stands for no byte as a visible marker.
  assert.equal(tok.decode([257]), 'A[UNK_BYTE_0xe4b896A\u4e16]');
  assert.equal(cleanUpSpaces("Hello , world ! ok . a ? b"), 'Hello, world! ok. a? b');
  assert.equal(cleanUpSpaces("rock ' n ' roll"), "rock'n'roll");
  assert.equal(cleanUpSpaces("he 's I 'm we 're they 've it 't we 'd you 'll"), "he's I'm we're they've it 't we 'd you 'll");
  const spaced = new BpeTokenizer(tinyVocab([], []));
  const ids = spaced.encode('a , b');
  assert.equal(spaced.decode(ids), 'a , b');
  assert.equal(spaced.decode(ids, { cleanUpSpaces: true }), 'a, b');
});

const arr = (itemType: GgufValueType, items: readonly GgufValue[]): GgufEntry => ({ type: GgufValueType.ARRAY, value: { itemType, items } });
const str = (value: string): GgufEntry => ({ type: GgufValueType.STRING, value });
const bool = (value: boolean): GgufEntry => ({ type: GgufValueType.BOOL, value });

function gguf(over: [string, GgufEntry | undefined][] = []): { metadata: Map<string, GgufEntry>; name: string } {
  const m = new Map(bpeVocabToGgufMetadata(tinyVocab(['ab', '<|endoftext|>'], ['a b'], { eos: 257, bos: 257 }, { 257: TokenType.CONTROL })));
  m.delete('tokenizer.ggml.add_bos_token');
  for (const [k, v] of over) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
  return { metadata: m, name: 'bpe.gguf' };
}

function expectError(fn: () => unknown, code: string, field?: string): StreamLlmError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return err instanceof StreamLlmError && err.code === code && (field === undefined || err.context.field === field);
  });
  return caught as StreamLlmError;
}

test('GGUF loader: llama.cpp defaults per pre-tokenizer, round trip of the metadata writer', () => {
  const v = bpeVocabFromGguf(gguf());
  assert.equal(v.pre, 'gpt-2');
  assert.equal(v.addBos, false);
  assert.deepEqual(v.merges, ['a b']);
  assert.equal(bpeVocabFromGguf(gguf([['tokenizer.ggml.pre', undefined]])).pre, 'default');
  assert.equal(bpeVocabFromGguf(gguf([['tokenizer.ggml.pre', str('llama-bpe')]])).addBos, true, 'Llama 3 adds BOS by default');
  assert.equal(bpeVocabFromGguf(gguf([['tokenizer.ggml.pre', str('llama-bpe')], ['tokenizer.ggml.add_bos_token', bool(false)]])).addBos, false);
  assert.equal(v.eos, 257);
  assert.deepEqual(v.eogIds, [], '<|endoftext|> is EOS itself, kept apart from the extra EOG ids');
  const tok = tokenizerFromGguf(gguf());
  assert.ok(tok instanceof BpeTokenizer);
  assert.deepEqual(tok.encode('ab'), [256]);
  assert.equal(tok.isEog(257), true);
  // Empty token texts are renamed as llama.cpp does, so ids and texts stay aligned.
  const tokens = [...BYTE_TO_CHAR, '', ''];
  const e = bpeVocabFromGguf(gguf([['tokenizer.ggml.tokens', arr(GgufValueType.STRING, tokens)],
    ['tokenizer.ggml.token_type', arr(GgufValueType.INT32, tokens.map(() => 1))], ['tokenizer.ggml.eos_token_id', undefined],
    ['tokenizer.ggml.bos_token_id', undefined]]));
  assert.deepEqual(e.tokens.slice(256), ['[EMPTY_256]', '[EMPTY_257]']);
});

test('GGUF loader: typed errors name the key, unknown pre-tokenizers list the supported ones', () => {
  const unknown = expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.pre', str('mystery-7b')]])), 'TOKENIZER_UNSUPPORTED', 'tokenizer.ggml.pre');
  assert.match(unknown.message, /mystery-7b/);
  assert.deepEqual(unknown.context.expected, SUPPORTED_PRE_TOKENIZERS);
  assert.match(unknown.hint ?? '', /gpt-2.*/);
  for (const name of ['gpt-2', 'falcon', 'mpt', 'olmo', 'default', 'starcoder', 'refact', 'deepseek-coder', 'deepseek-llm', 'qwen2', 'llama-bpe']) {
    assert.ok(SUPPORTED_PRE_TOKENIZERS.includes(name), name);
  }
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.merges', undefined]])), 'TOKENIZER_MISSING', 'tokenizer.ggml.merges');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.tokens', undefined]])), 'TOKENIZER_MISSING', 'tokenizer.ggml.tokens');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.merges', arr(GgufValueType.INT32, [1])]])), 'TOKENIZER_BAD_VOCAB', 'tokenizer.ggml.merges');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.pre', bool(true)]])), 'TOKENIZER_BAD_VOCAB', 'tokenizer.ggml.pre');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.eos_token_id', { type: GgufValueType.UINT32, value: 9999 }]])),
    'TOKENIZER_BAD_VOCAB', 'tokenizer.ggml.eos_token_id');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.token_type', arr(GgufValueType.INT32, [1])]])), 'TOKENIZER_BAD_VOCAB', 'tokenizer.ggml.token_type');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.tokens', arr(GgufValueType.STRING, [...BYTE_TO_CHAR, 'ab', 'ab'])]])), 'TOKENIZER_BAD_VOCAB', 'tokens');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.add_bos_token', bool(true)], ['tokenizer.ggml.bos_token_id', undefined]])),
    'TOKENIZER_BAD_VOCAB', 'bos');
  // Each loader refuses the other family and says what to use instead.
  const spm = expectError(() => spmVocabFromGguf(gguf()), 'TOKENIZER_UNSUPPORTED', 'tokenizer.ggml.model');
  assert.match(spm.message, /byte-level BPE/);
  assert.match(spm.hint ?? '', /tokenizerFromGguf/);
  expectError(() => bpeVocabFromGguf(gguf([['tokenizer.ggml.model', str('llama')]])), 'TOKENIZER_UNSUPPORTED', 'tokenizer.ggml.model');
  expectError(() => tokenizerFromGguf(gguf([['tokenizer.ggml.model', str('t5')]])), 'TOKENIZER_UNSUPPORTED', 'tokenizer.ggml.model');
  expectError(() => new BpeTokenizer(tinyVocab([], [], { pre: 'nope' })), 'TOKENIZER_UNSUPPORTED', 'tokenizer.ggml.pre');
});
