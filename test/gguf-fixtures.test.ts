/**
 * The reader on real llama.cpp vocabulary files (../shared/fixtures/vocab).
 * Three checks we did not write the answers to:
 *  - node-llama-cpp's own GGUF parser must see the same metadata, key by key;
 *  - llama.cpp's token ids for the test strings (X.gguf.out), mapped through
 *    the token strings we read, must spell the input strings (X.gguf.inp):
 *    that only works if every string, including non-ASCII ones, decoded right;
 *  - the header must end within one alignment step of the file end (these
 *    files hold no tensors and no padding), so no byte was skipped or over-read.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GgufFile, isGgufArray, type GgufValue } from '../src/formats/gguf/index.js';
import { needFixture } from './helpers/fixtures.js';

/** What we saw in each file; node-llama-cpp agrees (checked below). */
const VOCABS: ReadonlyArray<{ file: string; model: 'llama' | 'gpt2'; nTokens: number; arch: string }> = [
  { file: 'ggml-vocab-llama-spm.gguf', model: 'llama', nTokens: 32000, arch: 'llama' },
  { file: 'ggml-vocab-phi-3.gguf', model: 'llama', nTokens: 32064, arch: 'phi3' },
  { file: 'ggml-vocab-baichuan.gguf', model: 'llama', nTokens: 64000, arch: 'baichuan' },
  { file: 'ggml-vocab-gpt-2.gguf', model: 'gpt2', nTokens: 50257, arch: 'gpt2' },
  { file: 'ggml-vocab-gpt-neox.gguf', model: 'gpt2', nTokens: 50432, arch: 'gptneox' },
  { file: 'ggml-vocab-mpt.gguf', model: 'gpt2', nTokens: 50432, arch: 'mpt' },
  { file: 'ggml-vocab-falcon.gguf', model: 'gpt2', nTokens: 65024, arch: 'falcon' },
  { file: 'ggml-vocab-starcoder.gguf', model: 'gpt2', nTokens: 49152, arch: 'starcoder2' },
  { file: 'ggml-vocab-refact.gguf', model: 'gpt2', nTokens: 49216, arch: 'refact' },
  { file: 'ggml-vocab-deepseek-coder.gguf', model: 'gpt2', nTokens: 32256, arch: 'llama' },
];

type OracleReader = (path: string, opts: { logWarnings: boolean }) => Promise<{ metadata: unknown; tensorCount: number | bigint; version: number }>;

async function loadOracle(): Promise<OracleReader | undefined> {
  try {
    const mod = (await import('node-llama-cpp')) as unknown as { readGgufFileInfo: OracleReader };
    return mod.readGgufFileInfo;
  } catch {
    return undefined;
  }
}

/** GPT-2's byte ↔ printable-character table: printable Latin-1 maps to itself, the rest to U+0100 onwards. */
function gpt2ByteDecoder(): Map<string, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const m = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) m.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
  return m;
}

// llama.cpp token type 4: an added token, stored as its literal text (deepseek-coder has 'ü').
const USER_DEFINED = 4;

/**
 * Bytes a token stands for: SPM pieces use ▁ for space and <0xNN> for raw
 * bytes; byte-level BPE uses the GPT-2 table; added tokens are literal text.
 */
function tokenBytes(piece: string, type: number, model: 'llama' | 'gpt2', byteDec: Map<string, number>): number[] {
  if (type === USER_DEFINED) return [...Buffer.from(piece, 'utf8')];
  if (model === 'llama') {
    const m = /^<0x([0-9A-F]{2})>$/.exec(piece);
    return m ? [parseInt(m[1]!, 16)] : [...Buffer.from(piece.replaceAll('▁', ' '), 'utf8')];
  }
  return [...piece].map((ch) => {
    const b = byteDec.get(ch);
    assert.ok(b !== undefined, `token piece ${JSON.stringify(piece)} has a character outside the byte table`);
    return b;
  });
}

function oracleValue(root: unknown, key: string): unknown {
  let v: unknown = root;
  for (const part of key.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
  return v;
}

function plain(v: GgufValue): unknown {
  return isGgufArray(v) ? v.items.map(plain) : v;
}

for (const v of VOCABS) {
  test(`vocab fixture ${v.file}`, async (t) => {
    const path = needFixture(t, `vocab/${v.file}`);
    if (path === undefined) return;
    using f = GgufFile.open(path);

    assert.equal(f.version, 3);
    assert.equal(f.tensors.length, 0);
    assert.equal(f.getString('general.architecture'), v.arch);
    assert.equal(f.getString('tokenizer.ggml.model'), v.model);
    const tokens = f.getStringArray('tokenizer.ggml.tokens');
    assert.equal(tokens.length, v.nTokens);
    const types = f.getNumberArray('tokenizer.ggml.token_type');
    assert.equal(types.length, v.nTokens);
    if (v.model === 'llama') {
      assert.equal(f.getNumberArray('tokenizer.ggml.scores').length, v.nTokens);
      assert.deepEqual(tokens.slice(0, 3), ['<unk>', '<s>', '</s>']);
    } else {
      assert.ok(f.getStringArray('tokenizer.ggml.merges').length > 30_000);
    }
    assert.ok(f.getNumber('tokenizer.ggml.bos_token_id') < v.nTokens);
    assert.ok(f.getNumber('tokenizer.ggml.eos_token_id') < v.nTokens);
    assert.ok(f.dataOffset >= f.fileSize && f.dataOffset < f.fileSize + f.alignment, `header ends at ${f.dataOffset}, file is ${f.fileSize}`);

    await t.test('node-llama-cpp reads the same metadata', async (tt) => {
      const read = await loadOracle();
      if (read === undefined) return void tt.skip('node-llama-cpp (devDependency) is not installed');
      const info = await read(path, { logWarnings: false });
      assert.equal(info.version, 3);
      assert.equal(Number(info.tensorCount), 0);
      for (const [key, entry] of f.metadata) {
        assert.deepStrictEqual(oracleValue(info.metadata, key), plain(entry.value), key);
      }
    });

    await t.test("llama.cpp's token ids spell the test strings", (tt) => {
      const inp = `${path}.inp`;
      if (!existsSync(inp)) return void tt.skip(`no ${v.file}.inp/.out vectors for this vocabulary`);
      const texts = readFileSync(inp, 'utf8').split('\n__ggml_vocab_test__\n').slice(0, -1);
      const ids = readFileSync(`${path}.out`, 'utf8').split('\n').slice(0, -1);
      assert.equal(texts.length, ids.length);
      const byteDec = gpt2ByteDecoder();
      for (let i = 0; i < texts.length; i++) {
        const bytes = ids[i]!.trim().split(/\s+/).filter(Boolean).flatMap((id) => tokenBytes(tokens[Number(id)]!, types[Number(id)]!, v.model, byteDec));
        const text = Buffer.from(bytes).toString('utf8');
        // SentencePiece (llama) adds a dummy-prefix space to non-empty input.
        const want = v.model === 'llama' && texts[i] !== '' ? ` ${texts[i]}` : texts[i];
        assert.equal(text, want, `test string #${i} (ids ${ids[i]})`);
      }
    });
  });
}
