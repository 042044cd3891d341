/**
 * The reader on broken files. Two halves:
 *  - exact error codes (and locations) for each specific kind of damage;
 *  - exhaustive truncation plus a few thousand seeded random mutations, where
 *    the only acceptable outcomes are "parses" or a StreamLlmError — never a
 *    RangeError from a huge allocation, a TypeError, or a hang.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StreamLlmError, type ErrorCode } from '../src/errors.js';
import { ByteWriter } from '../src/formats/gguf/encode.js';
import { GgufFile, GgufValueType, encodeGguf, gv } from '../src/formats/gguf/index.js';
import { GgmlType, quantize } from '../src/tensor/index.js';
import { after, prng, putU32, putU64, randomWeights, tensorInfoFields } from './helpers/gguf-sample.js';

const T = GgufValueType;

/** A small but complete file: varied metadata, then 3 tensors of different types. */
function baseFile(): Uint8Array {
  const rng = prng(5);
  return encodeGguf({
    metadata: [
      ['general.architecture', gv.str('llama')],
      ['general.alignment', gv.u32(32)],
      ['llama.context_length', gv.u32(2048)],
      ['llama.rope.freq_base', gv.f32(10000)],
      ['tokenizer.ggml.tokens', gv.arr(T.STRING, ['<unk>', '<s>', '</s>', '▁the', 'é', '@@'])],
      ['tokenizer.ggml.scores', gv.arr(T.FLOAT32, [0, 0, 0, -1, -2, -3])],
      ['test.nested', gv.arr(T.ARRAY, [gv.arr(T.UINT64, [1n, 2n]).value, gv.arr(T.BOOL, [true]).value])],
      ['test.flag', gv.bool(true)],
      ['test.count', gv.u64(7)],
      ['test.keyA', gv.u8(1)],
      ['test.keyB', gv.u8(2)],
    ],
    tensors: [
      { name: 'tok_embd', type: GgmlType.F32, dims: [8, 6], data: quantize(GgmlType.F32, randomWeights(rng, 48)) },
      { name: 'blk.0.wq', type: GgmlType.Q8_0, dims: [32, 2], data: quantize(GgmlType.Q8_0, randomWeights(rng, 64)) },
      { name: 'out_norm', type: GgmlType.F16, dims: [16], data: quantize(GgmlType.F16, randomWeights(rng, 16)) },
    ],
  });
}

const BASE = baseFile();
const NAME = 'corrupt.gguf';

/** The StreamLlmError that parsing `bytes` throws; fails the test if it parses or throws anything else. */
function parseError(bytes: Uint8Array): StreamLlmError {
  try {
    GgufFile.fromBytes(bytes, NAME);
  } catch (err) {
    if (err instanceof StreamLlmError) return err;
    throw new Error(`expected a StreamLlmError, got ${String(err)}`, { cause: err });
  }
  assert.fail('expected the file to be rejected');
}

function mutated(edit: (b: Uint8Array) => void): Uint8Array {
  const b = BASE.slice();
  edit(b);
  return b;
}

describe('specific damage → specific error', () => {
  const q8 = tensorInfoFields(BASE, 'blk.0.wq');

  test('the untouched base file parses', () => {
    const f = GgufFile.fromBytes(BASE, NAME);
    assert.equal(f.tensors.length, 3);
    for (const t of f.tensors) f.tensorBytes(t);
  });

  test('wrong magic', () => {
    const e = parseError(mutated((b) => b.set([0x47, 0x47, 0x4d, 0x4c], 0)));
    assert.equal(e.code, 'GGUF_BAD_MAGIC');
    assert.equal(e.context.offset, 0);
    assert.equal(e.context.file, NAME);
  });

  test('version 1 and 99 (and a big-endian file)', () => {
    const v1 = parseError(mutated((b) => putU32(b, 4, 1)));
    assert.equal(v1.code, 'GGUF_UNSUPPORTED_VERSION');
    assert.match(v1.hint ?? '', /v1.*not supported/);
    assert.equal(v1.context.offset, 4);
    assert.equal(parseError(mutated((b) => putU32(b, 4, 99))).code, 'GGUF_UNSUPPORTED_VERSION');
    assert.match(parseError(mutated((b) => putU32(b, 4, 0x03000000))).hint ?? '', /big-endian/);
  });

  test('empty and tiny files', () => {
    assert.equal(parseError(new Uint8Array(0)).code, 'GGUF_TRUNCATED');
    assert.equal(parseError(BASE.subarray(0, 6)).code, 'GGUF_TRUNCATED');
  });

  test('truncated in the middle of a string', () => {
    // Cut late enough that the counts before it still fit, so the string itself is what overruns.
    const nameLenAt = after(BASE, 'out_norm') - 'out_norm'.length - 8;
    const e = parseError(BASE.subarray(0, after(BASE, 'out_n')));
    assert.equal(e.code, 'GGUF_TRUNCATED');
    assert.equal(e.context.offset, nameLenAt, 'points at the length of the cut string');
    assert.equal(e.context.field, 'tensor name #2');
    // ...and inside a string value, named by its key.
    const tokLenAt = after(BASE, '▁the') - new TextEncoder().encode('▁the').length - 8;
    const v = parseError(BASE.subarray(0, after(BASE, '▁t')));
    assert.equal(v.code, 'GGUF_TRUNCATED');
    assert.equal(v.context.offset, tokLenAt);
    assert.equal(v.context.field, 'tokenizer.ggml.tokens');
  });

  test('a truncated file on disk names its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gguf-corrupt-'));
    try {
      const path = join(dir, 'cut.gguf');
      writeFileSync(path, BASE.subarray(0, BASE.length - 10)); // inside the last tensor's 32 bytes
      const e = (() => {
        try {
          GgufFile.open(path);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      assert.ok(e instanceof StreamLlmError);
      assert.equal(e.code, 'GGUF_TRUNCATED');
      assert.equal(e.context.file, path);
      assert.equal(e.context.tensor, 'out_norm');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tensor offset beyond EOF', () => {
    const e = parseError(mutated((b) => putU64(b, q8.offset, 1n << 40n)));
    assert.equal(e.code, 'GGUF_BAD_OFFSET');
    assert.equal(e.context.tensor, 'blk.0.wq');
    assert.equal(e.context.offset, q8.offset);
  });

  test('misaligned tensor offset', () => {
    const e = parseError(mutated((b) => putU64(b, q8.offset, 256n + 4n)));
    assert.equal(e.code, 'GGUF_BAD_OFFSET');
    assert.equal(e.context.tensor, 'blk.0.wq');
    assert.match(e.message, /alignment 32/);
  });

  test('unknown tensor type 200', () => {
    const e = parseError(mutated((b) => putU32(b, q8.type, 200)));
    assert.equal(e.code, 'UNSUPPORTED_TENSOR_TYPE');
    assert.equal(e.context.tensor, 'blk.0.wq');
    assert.equal(e.context.offset, q8.type);
  });

  test('bad shapes', () => {
    assert.equal(parseError(mutated((b) => putU32(b, q8.nDims, 0))).code, 'GGUF_BAD_SHAPE');
    assert.equal(parseError(mutated((b) => putU32(b, q8.nDims, 5))).code, 'GGUF_BAD_SHAPE');
    assert.equal(parseError(mutated((b) => putU64(b, q8.dims, 0n))).code, 'GGUF_BAD_SHAPE');
    assert.equal(parseError(mutated((b) => putU64(b, q8.dims, 1n << 62n))).code, 'GGUF_BAD_SHAPE');
    const e = parseError(mutated((b) => putU64(b, q8.dims, 16n))); // Q8_0 rows are 32-element blocks
    assert.equal(e.code, 'GGUF_BAD_SHAPE');
    assert.match(e.message, /block size 32/);
  });

  test('duplicate key', () => {
    const e = parseError(mutated((b) => b.set(new TextEncoder().encode('test.keyA'), after(b, 'test.keyB') - 9)));
    assert.equal(e.code, 'GGUF_DUPLICATE_KEY');
    assert.equal(e.context.field, 'test.keyA');
    assert.equal(e.context.offset, after(BASE, 'test.keyB') - 9 - 8);
  });

  test('duplicate tensor', () => {
    // 'tok_embd' and 'out_norm' have the same length.
    const e = parseError(mutated((b) => b.set(new TextEncoder().encode('tok_embd'), after(b, 'out_norm') - 8)));
    assert.equal(e.code, 'GGUF_DUPLICATE_TENSOR');
    assert.equal(e.context.tensor, 'tok_embd');
  });

  test('absurd array count 2^60', () => {
    // tokens key | u32 ARRAY | u32 item type | u64 count
    const countAt = after(BASE, 'tokenizer.ggml.tokens') + 8;
    const e = parseError(mutated((b) => putU64(b, countAt, 1n << 60n)));
    assert.equal(e.code, 'GGUF_ABSURD_COUNT');
    assert.equal(e.context.field, 'tokenizer.ggml.tokens');
    assert.equal(e.context.offset, countAt);
  });

  test('alignment 3', () => {
    const e = parseError(mutated((b) => putU32(b, after(b, 'general.alignment') + 4, 3)));
    assert.equal(e.code, 'GGUF_BAD_ALIGNMENT');
    assert.equal(e.context.field, 'general.alignment');
  });

  test("a tensor's data runs past EOF", () => {
    const f = GgufFile.fromBytes(BASE);
    const last = f.tensors[2]!;
    const e = parseError(BASE.subarray(0, last.offset + last.nBytes - 1));
    assert.equal(e.code, 'GGUF_TRUNCATED');
    assert.equal(e.context.tensor, 'out_norm');
  });

  test('bad values: bool 2, value type 13, arrays nested too deep', () => {
    assert.equal(parseError(mutated((b) => (b[after(b, 'test.flag') + 4] = 2))).code, 'GGUF_BAD_VALUE');
    assert.equal(parseError(mutated((b) => putU32(b, after(b, 'test.flag'), 13))).code, 'GGUF_BAD_VALUE');
    // 9 levels of [[[...]]], hand-built since the writer refuses it too.
    const w = new ByteWriter();
    w.u32(0x46554747);
    w.u32(3);
    w.u64(0);
    w.u64(1);
    w.str('deep');
    w.u32(T.ARRAY);
    for (let i = 0; i < 9; i++) {
      w.u32(T.ARRAY);
      w.u64(1);
    }
    w.zeros(64);
    assert.equal(parseError(w.bytes()).code, 'GGUF_BAD_VALUE');
  });

  test('invalid UTF-8 in a string decodes to U+FFFD instead of failing', () => {
    const f = GgufFile.fromBytes(mutated((b) => b.set([0xc3, 0x28], after(b, '@@') - 2)));
    assert.equal(f.getStringArray('tokenizer.ggml.tokens')[5], '\ufffd(');
  });
});

describe('fuzz: truncation and random mutation', () => {
  const good = GgufFile.fromBytes(BASE);
  const dataEnd = Math.max(...good.tensors.map((t) => t.offset + t.nBytes));

  /** Parses and, if that works, touches everything; returns the error code or 'ok'. Anything but a StreamLlmError fails. */
  function outcome(bytes: Uint8Array, what: string): ErrorCode | 'ok' {
    try {
      const f = GgufFile.fromBytes(bytes, NAME);
      for (const t of f.tensors) f.tensorBytes(t);
      for (const key of f.metadata.keys()) {
        const getters: Array<(key: string) => unknown> = [f.getNumber, f.getString, f.getBool, f.getStringArray, f.getNumberArray];
        for (const get of getters) {
          try {
            get.call(f, key);
          } catch (err) {
            if (!(err instanceof StreamLlmError)) throw err;
          }
        }
      }
      return 'ok';
    } catch (err) {
      if (err instanceof StreamLlmError) {
        assert.equal(err.context.file, NAME, `${what}: error without the file name`);
        return err.code;
      }
      assert.fail(`${what}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}, not a StreamLlmError`);
    }
  }

  test('truncation at every header byte and at sampled data bytes', () => {
    for (let cut = 0; cut < good.dataOffset; cut++) {
      const c = outcome(BASE.subarray(0, cut), `cut at ${cut}`);
      // Inside the padding before the data, the header parses and the first tensor starts past EOF.
      assert.ok(c === 'GGUF_TRUNCATED' || c === 'GGUF_BAD_OFFSET', `cut at ${cut}: ${c}`);
    }
    for (let cut = good.dataOffset; cut <= BASE.length; cut += 3) {
      const e = cut < dataEnd ? parseError(BASE.subarray(0, cut)) : undefined;
      if (e === undefined) {
        assert.equal(outcome(BASE.subarray(0, cut), `cut at ${cut}`), 'ok', 'only padding after the last tensor is missing');
      } else {
        assert.ok(e.code === 'GGUF_TRUNCATED' || e.code === 'GGUF_BAD_OFFSET', `cut at ${cut}: ${e.code}`);
        assert.equal(typeof e.context.tensor, 'string', `cut at ${cut}: the tensor is named`);
      }
    }
  });

  test('4000 seeded random mutations never escape as anything but StreamLlmError', (t) => {
    const rng = prng(0x5eed);
    const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rng() * xs.length)]!;
    const bigs = [1n << 60n, (1n << 64n) - 1n, 1n << 53n, 1n << 32n, 1n << 31n, BigInt(BASE.length), 0n];
    const seen = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < 4000; i++) {
      const b = BASE.slice();
      const edits: string[] = [];
      for (let k = 1 + Math.floor(rng() * 3); k > 0; k--) {
        // Mostly the header: that is where the parser makes decisions.
        const pos = Math.floor(rng() * (rng() < 0.9 ? good.dataOffset : b.length));
        const kind = pick(['bit', 'byte', 'ff8', 'u64', 'u32'] as const);
        edits.push(`${kind}@${pos}`);
        if (kind === 'bit') b[pos] = b[pos]! ^ (1 << Math.floor(rng() * 8));
        else if (kind === 'byte') b[pos] = Math.floor(rng() * 256);
        else if (kind === 'ff8') b.fill(0xff, pos, pos + 8); // count/length fields → absurd values
        else if (kind === 'u64' && pos + 8 <= b.length) putU64(b, pos, pick(bigs));
        else if (kind === 'u32' && pos + 4 <= b.length) putU32(b, pos, pick([0, 1, 3, 5, 9, 12, 13, 31, 200, 0xffff_ffff]));
      }
      const c = outcome(b, `mutation #${i} (${edits.join(' ')})`);
      seen.set(c, (seen.get(c) ?? 0) + 1);
    }
    const ms = performance.now() - t0;
    t.diagnostic(`outcomes: ${[...seen].map(([k, v]) => `${k}=${v}`).join(', ')} in ${ms.toFixed(0)} ms`);
    assert.ok(seen.get('GGUF_ABSURD_COUNT')! > 0 && seen.get('GGUF_TRUNCATED')! > 0, 'the mutations reach the count checks');
    assert.ok(ms < 5000, `fuzzing took ${ms} ms`);
  });
});
