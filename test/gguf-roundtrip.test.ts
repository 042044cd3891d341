/**
 * Writer → reader round trips: every metadata type, every engine tensor type,
 * custom alignment, v2 and v3, in memory and on disk (streamed, lazy data).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after as afterAll, describe, test } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import {
  GgufFile,
  GgufValueType,
  encodeGguf,
  formatValue,
  gv,
  tensorRows,
  writeGguf,
  type GgufWriterTensor,
} from '../src/formats/gguf/index.js';
import { GgmlType, dequantize } from '../src/tensor/index.js';
import { everyTypeMetadata, prng, sampleTensors } from './helpers/gguf-sample.js';

const tmp = mkdtempSync(join(tmpdir(), 'gguf-roundtrip-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StreamLlmError, `expected StreamLlmError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a throw');
}

/** Max |a-b| against a per-element bound; prints the first offender like llm.c's check_tensor. */
function assertClose(name: string, got: Float32Array, want: Float32Array, bound: (i: number) => number): void {
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    maxDiff = Math.max(maxDiff, d);
    if (!(d <= bound(i))) assert.fail(`${name}[${i}]: got ${got[i]}, want ${want[i]} (diff ${d} > ${bound(i)}); max-abs-diff so far ${maxDiff}`);
  }
}

/** Per-block max |x|, for the quantization error bounds. */
function blockAmax(x: Float32Array, i: number): number {
  const b = Math.floor(i / 32) * 32;
  let m = 0;
  for (let j = b; j < b + 32; j++) m = Math.max(m, Math.abs(x[j]!));
  return m;
}

describe('GGUF round trip', () => {
  const samples = sampleTensors(prng(1234));
  const metadata = everyTypeMetadata();
  const bytes = encodeGguf({ metadata, tensors: samples.map((s) => s.tensor), alignment: 64 });
  const file = GgufFile.fromBytes(bytes, 'roundtrip.gguf');

  test('header fields', () => {
    assert.equal(file.version, 3);
    assert.equal(file.name, 'roundtrip.gguf');
    assert.equal(file.alignment, 64);
    assert.equal(file.fileSize, bytes.length);
    assert.equal(file.dataOffset % 64, 0);
    assert.deepEqual(file.get('general.alignment'), gv.u32(64), 'non-default alignment is recorded');
    assert.equal(file.tensors.length, samples.length);
  });

  test('every metadata entry comes back with its type and value', () => {
    for (const [key, entry] of metadata) assert.deepStrictEqual(file.metadata.get(key), entry, key);
    assert.equal(file.metadata.size, metadata.length + 1); // + general.alignment
    assert.deepEqual([...file.metadata.keys()].slice(0, metadata.length), metadata.map(([k]) => k), 'file order kept');
  });

  test('tensor infos and bytes', () => {
    for (const s of samples) {
      const info = file.tensor(s.tensor.name);
      assert.ok(info, s.tensor.name);
      assert.equal(info.type, s.tensor.type);
      assert.deepEqual(info.dims, s.tensor.dims);
      assert.equal(info.nElements, s.original.length);
      assert.equal(info.nBytes, s.data.length);
      assert.equal(info.relOffset % 64, 0);
      assert.equal(info.offset, file.dataOffset + info.relOffset);
      // Read into the middle of a larger buffer, as the engine does with WASM memory.
      const arena = new Uint8Array(info.nBytes + 100).fill(0xab);
      file.readTensor(info, arena.subarray(50, 50 + info.nBytes));
      assert.deepEqual(arena.subarray(50, 50 + info.nBytes), s.data);
      assert.ok(arena.subarray(0, 50).every((b) => b === 0xab) && arena.subarray(50 + info.nBytes).every((b) => b === 0xab));
    }
    assert.equal(file.tensor('nope'), undefined);
  });

  test('dequantized values are close to the originals', () => {
    for (const s of samples) {
      const info = file.tensor(s.tensor.name)!;
      const got = new Float32Array(info.nElements);
      dequantize(info.type, file.tensorBytes(info), 0, got, 0, info.nElements);
      const x = s.original;
      const bound: Record<number, (i: number) => number> = {
        [GgmlType.F32]: () => 0,
        // half: 11-bit significand → relative 2^-11; 2^-25 covers subnormals.
        [GgmlType.F16]: (i) => Math.abs(x[i]!) * 2 ** -11 + 2 ** -25,
        // bfloat16: 8-bit significand, f32 range.
        [GgmlType.BF16]: (i) => Math.abs(x[i]!) * 2 ** -8 + 1e-38,
        // d = amax/127: rounding costs d/2, the f16-rounded scale up to 127·d·2^-11 ≈ 0.06d more.
        [GgmlType.Q8_0]: (i) => 0.6 * (blockAmax(x, i) / 127),
        // d = amax/8; the side opposite the max clamps at +7, so up to one step d (+ f16 scale error).
        [GgmlType.Q4_0]: (i) => 1.01 * (blockAmax(x, i) / 8),
      };
      assertClose(info.name, got, x, bound[info.type]!);
    }
  });

  test('version 2 files read too', () => {
    const v2 = GgufFile.fromBytes(encodeGguf({ metadata, tensors: samples.map((s) => s.tensor), version: 2 }));
    assert.equal(v2.version, 2);
    assert.equal(v2.alignment, 32);
    assert.equal(v2.metadata.has('general.alignment'), false, 'default alignment is not written');
    for (const [key, entry] of metadata) assert.deepStrictEqual(v2.metadata.get(key), entry, key);
    for (const s of samples) assert.deepEqual(v2.tensorBytes(v2.tensor(s.tensor.name)!), s.data);
  });

  test('typed getters', () => {
    assert.equal(file.getString('general.architecture'), 'llama');
    assert.equal(file.getString('missing.key', 'dflt'), 'dflt');
    assert.equal(file.getNumber('test.u8'), 255);
    assert.equal(file.getNumber('test.i32'), -0x8000_0000);
    assert.equal(file.getNumber('test.f32'), Math.fround(3.14159));
    assert.equal(file.getNumber('test.u64.small'), 42);
    assert.equal(file.getNumber('test.i64.small'), -7);
    assert.equal(file.getNumber('missing.key', 7), 7);
    assert.equal(file.getBool('test.bool.false'), false);
    assert.equal(file.getBool('missing.key', true), true);
    assert.deepEqual(file.getStringArray('test.arr.str'), ['', 'a', '▁the', '日本語', '<0x0A>']);
    assert.deepEqual(file.getNumberArray('test.arr.i32'), new Float64Array([-1, 2, -3]));
    assert.deepEqual(file.getNumberArray('test.arr.empty'), new Float64Array(0));
    assert.deepEqual(file.getNumberArray('test.arr.u16'), new Float64Array([0, 65535]));

    assert.equal(code(() => file.getString('missing.key')), 'MISSING_METADATA');
    assert.equal(code(() => file.get('missing.key')), 'MISSING_METADATA');
    assert.equal(code(() => file.getStringArray('missing.key')), 'MISSING_METADATA');
    assert.equal(code(() => file.getNumber('general.architecture')), 'GGUF_BAD_VALUE');
    assert.equal(code(() => file.getString('test.u8')), 'GGUF_BAD_VALUE');
    assert.equal(code(() => file.getBool('test.u8')), 'GGUF_BAD_VALUE');
    assert.equal(code(() => file.getNumber('test.u64.max')), 'GGUF_BAD_VALUE', 'u64 beyond 2^53 is not silently rounded');
    assert.equal(code(() => file.getNumberArray('test.arr.u64')), 'GGUF_BAD_VALUE');
    assert.equal(code(() => file.getNumberArray('test.arr.str')), 'GGUF_BAD_VALUE');
    assert.equal(code(() => file.getStringArray('test.arr.nested')), 'GGUF_BAD_VALUE');
    try {
      file.getString('test.f32');
    } catch (err) {
      assert.ok(err instanceof StreamLlmError);
      assert.equal(err.context.field, 'test.f32');
      assert.equal(err.context.file, 'roundtrip.gguf');
      assert.equal(typeof err.context.offset, 'number');
    }
  });

  test('readTensor checks its arguments', () => {
    const info = file.tensors[0]!;
    assert.equal(code(() => file.readTensor(info, new Uint8Array(info.nBytes - 1))), 'BAD_ARGUMENT');
    assert.equal(code(() => file.readTensor({ ...info, name: 'other' }, new Uint8Array(info.nBytes))), 'BAD_ARGUMENT');
  });

  test('describe helpers', () => {
    const rows = tensorRows(file);
    assert.deepEqual(rows[3], { name: 'blk.0.q8_0', type: 'Q8_0', shape: [64, 4], bytes: 4 * 2 * 34, offset: file.tensors[3]!.offset });
    assert.equal(formatValue(file.get('test.arr.str').value, 2), '["", "a", … 3 more]');
    assert.equal(formatValue(file.get('test.u64.max').value), '18446744073709551615');
  });
});

describe('GGUF files on disk', () => {
  test('writeGguf streams lazily produced tensors and matches encodeGguf byte for byte', () => {
    const samples = sampleTensors(prng(99));
    const calls: string[] = [];
    const lazy: GgufWriterTensor[] = samples.map((s) => ({
      ...s.tensor,
      data: () => {
        calls.push(s.tensor.name);
        return s.data;
      },
    }));
    const path = join(tmp, 'lazy.gguf');
    const size = writeGguf(path, { metadata: everyTypeMetadata(), tensors: lazy, alignment: 128 });
    assert.deepEqual(calls, samples.map((s) => s.tensor.name), 'each callback called once, in order');
    const disk = readFileSync(path);
    assert.equal(size, disk.length);
    assert.deepEqual(new Uint8Array(disk), encodeGguf({ metadata: everyTypeMetadata(), tensors: samples.map((s) => s.tensor), alignment: 128 }));

    const f = GgufFile.open(path);
    assert.equal(f.alignment, 128);
    for (const s of samples) assert.deepEqual(f.tensorBytes(f.tensor(s.tensor.name)!), s.data);
    f[Symbol.dispose]();
    f.close(); // idempotent
    assert.equal(code(() => f.tensorBytes(f.tensors[0]!)), 'FILE_READ');
  });

  test('a header larger than the 1 MiB read buffer (long strings across chunk edges)', () => {
    // ~2.5 MB of header: 200k tokens of varied lengths plus one 1.5 MB string.
    const rng = prng(7);
    const tokens = Array.from({ length: 200_000 }, (_, i) => `t${i}${'é'.repeat(Math.floor(rng() * 6))}`);
    const big = 'x'.repeat(1_500_000) + '🦙';
    const path = join(tmp, 'bigheader.gguf');
    const w = new Float32Array([1, 2, 3, 4]);
    writeGguf(path, {
      metadata: [
        ['tokenizer.ggml.tokens', gv.arr(GgufValueType.STRING, tokens)],
        ['tokenizer.chat_template', gv.str(big)],
        ['tokenizer.ggml.scores', gv.arr(GgufValueType.FLOAT32, tokens.map((_, i) => -i))],
      ],
      tensors: [{ name: 'w', type: GgmlType.F32, dims: [4], data: new Uint8Array(w.buffer) }],
    });
    using f = GgufFile.open(path);
    assert.deepEqual(f.getStringArray('tokenizer.ggml.tokens'), tokens);
    assert.equal(f.getString('tokenizer.chat_template'), big);
    assert.equal(f.getNumberArray('tokenizer.ggml.scores')[199_999], -199_999);
    assert.deepEqual(new Float32Array(f.tensorBytes(f.tensor('w')!).buffer), w);
  });

  test('a partial file is removed when a lazy tensor fails', () => {
    const path = join(tmp, 'fail.gguf');
    const t: GgufWriterTensor = { name: 'w', type: GgmlType.F32, dims: [4], data: () => new Uint8Array(15) };
    assert.equal(code(() => writeGguf(path, { metadata: [], tensors: [t] })), 'BAD_ARGUMENT');
    assert.equal(code(() => GgufFile.open(path)), 'FILE_NOT_FOUND');
  });

  test('file errors', () => {
    assert.equal(code(() => GgufFile.open(join(tmp, 'does-not-exist.gguf'))), 'FILE_NOT_FOUND');
    assert.equal(code(() => GgufFile.open(tmp)), 'FILE_READ');
  });
});

describe('GGUF writer validation', () => {
  const f32 = (name: string, n = 4): GgufWriterTensor => ({ name, type: GgmlType.F32, dims: [n], data: new Uint8Array(4 * n) });
  const enc = (o: Partial<Parameters<typeof encodeGguf>[0]>) => () => encodeGguf({ metadata: [], tensors: [], ...o });

  test('rejects bad input with typed errors', () => {
    assert.equal(code(enc({ tensors: [{ ...f32('a'), data: new Uint8Array(3) }] })), 'BAD_ARGUMENT');
    assert.equal(code(enc({ tensors: [f32('a'), f32('a')] })), 'GGUF_DUPLICATE_TENSOR');
    assert.equal(code(enc({ metadata: [['k', gv.u8(1)], ['k', gv.u8(2)]] })), 'GGUF_DUPLICATE_KEY');
    assert.equal(code(enc({ metadata: [['k', gv.u8(256)]] })), 'BAD_ARGUMENT');
    assert.equal(code(enc({ metadata: [['k', gv.i8(1.5)]] })), 'BAD_ARGUMENT');
    assert.equal(code(enc({ metadata: [['k', { type: GgufValueType.STRING, value: 3 }]] })), 'BAD_ARGUMENT');
    assert.equal(code(enc({ metadata: [['k', gv.arr(GgufValueType.UINT8, [1, 'x'])]] })), 'BAD_ARGUMENT');
    assert.equal(code(enc({ alignment: 48 })), 'GGUF_BAD_ALIGNMENT');
    assert.equal(code(enc({ alignment: 64, metadata: [['general.alignment', gv.u32(32)]] })), 'BAD_ARGUMENT');
    assert.equal(code(enc({ tensors: [{ ...f32('a'), dims: [] }] })), 'GGUF_BAD_SHAPE');
    assert.equal(code(enc({ tensors: [{ ...f32('a'), dims: [4, 0] }] })), 'GGUF_BAD_SHAPE');
    assert.equal(code(enc({ tensors: [{ name: 'q', type: GgmlType.Q8_0, dims: [16], data: new Uint8Array(17) }] })), 'GGUF_BAD_SHAPE');
    assert.equal(code(enc({ tensors: [{ ...f32('a'), type: 200 as GgmlType }] })), 'UNSUPPORTED_TENSOR_TYPE');
    assert.equal(code(enc({ tensors: [f32('x'.repeat(64))] })), 'BAD_ARGUMENT');
  });

  test('known-but-uncomputable types (Q4_K) are written and read as infos', () => {
    const f = GgufFile.fromBytes(encodeGguf({ metadata: [], tensors: [{ name: 'k', type: GgmlType.Q4_K, dims: [256, 2], data: new Uint8Array(288) }] }));
    assert.equal(f.tensors[0]!.type, GgmlType.Q4_K);
    assert.equal(f.tensors[0]!.nBytes, 288);
  });

  test('a file with no metadata and no tensors', () => {
    const f = GgufFile.fromBytes(encodeGguf({ metadata: [], tensors: [] }));
    assert.equal(f.metadata.size, 0);
    assert.equal(f.tensors.length, 0);
  });
});
