/**
 * The safetensors reader on damaged files: every truncation, every header
 * byte replaced by a handful of troublesome values, thousands of seeded
 * random mutations and header lengths. The only acceptable outcomes are
 * "parses (and every tensor then reads)" or a StreamLlmError — never a
 * TypeError, RangeError or hang — and no read (hence no allocation) ever asks
 * for more bytes than the file holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamLlmError } from '../src/errors.js';
import { bufferSource, type ByteSource } from '../src/formats/gguf/source.js';
import { encodeSafetensors, SafetensorsFile } from '../src/formats/safetensors/index.js';
import { prng } from './helpers/gguf-sample.js';

function baseFile(): Uint8Array {
  const rng = prng(3);
  const data = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
  return encodeSafetensors({
    metadata: { format: 'pt' },
    tensors: [
      { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [4, 8], data: data(128) },
      { name: 'model.layers.0.self_attn.q_proj.weight', dtype: 'BF16', shape: [8, 8], data: data(128) },
      { name: 'model.layers.0.input_layernorm.weight', dtype: 'F16', shape: [8], data: data(16) },
      { name: 'model.norm.weight', dtype: 'F32', shape: [8], data: data(32) },
    ],
  });
}

/** A source that remembers the largest single read: the reader allocates exactly what it reads. */
function watched(bytes: Uint8Array): ByteSource & { maxRead: number } {
  const inner = bufferSource(bytes, 'mutant');
  const s = {
    name: inner.name,
    size: inner.size,
    maxRead: 0,
    read(offset: number, dest: Uint8Array) {
      s.maxRead = Math.max(s.maxRead, dest.length);
      inner.read(offset, dest);
    },
    close: () => inner.close(),
  };
  return s;
}

/** 'ok' when it parses and every tensor reads back, else the StreamLlmError code; anything else fails the test. */
function outcome(bytes: Uint8Array, label: string): string {
  const src = watched(bytes);
  try {
    const f = SafetensorsFile.fromSource(src);
    for (const t of f.tensors) f.readTensor(t, new Uint8Array(t.nBytes));
    f.close();
    return 'ok';
  } catch (e) {
    if (!(e instanceof StreamLlmError)) assert.fail(`${label}: ${String((e as Error)?.stack ?? e)}`);
    return e.code;
  } finally {
    assert.ok(src.maxRead <= bytes.length, `${label}: a read of ${src.maxRead} bytes from a ${bytes.length}-byte file`);
  }
}

const base = baseFile();
const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));

test('the undamaged file parses', () => {
  assert.equal(outcome(base, 'base'), 'ok');
});

test('every truncation is a typed error', () => {
  const codes = new Map<string, number>();
  for (let n = 0; n < base.length; n++) {
    const code = outcome(base.subarray(0, n), `truncated to ${n}`);
    assert.notEqual(code, 'ok', `truncated to ${n} bytes should not parse`);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  for (const code of codes.keys()) assert.match(code, /^SAFETENSORS_(TRUNCATED|BAD_HEADER)$/);
});

test('every header byte replaced by troublesome values: parses or a typed error', () => {
  const seen = new Set<string>();
  for (let i = 0; i < headerEnd; i++) {
    for (const v of [0x00, 0x20, 0x22, 0x2c, 0x30, 0x39, 0x5b, 0x5d, 0x7b, 0x7d, 0x80, 0xff]) {
      const m = base.slice();
      m[i] = v;
      seen.add(outcome(m, `byte ${i} = 0x${v.toString(16)}`));
    }
  }
  // The damage is noticed in several ways (bad header, shapes, dtypes), and some edits are harmless.
  for (const code of ['ok', 'SAFETENSORS_BAD_HEADER', 'TENSOR_SHAPE_MISMATCH', 'UNSUPPORTED_TENSOR_TYPE']) assert.ok(seen.has(code), `expected some '${code}', got ${[...seen].join(', ')}`);
});

test('4000 seeded random mutations: parses or a typed error, no huge reads', () => {
  const rng = prng(77);
  for (let k = 0; k < 4000; k++) {
    const m = base.slice();
    const edits = 1 + Math.floor(rng() * 4);
    for (let e = 0; e < edits; e++) {
      // Mostly inside the header, where the parser works.
      const at = rng() < 0.85 ? Math.floor(rng() * headerEnd) : Math.floor(rng() * m.length);
      m[at] = Math.floor(rng() * 256);
    }
    const cut = rng() < 0.2 ? Math.floor(rng() * m.length) : m.length;
    outcome(m.subarray(0, cut), `mutation ${k}`);
  }
});

test('any header length field: parses or a typed error, never a read past the file', () => {
  const rng = prng(5);
  const lengths = [0n, 1n, 2n, BigInt(headerEnd - 9), BigInt(headerEnd - 7), BigInt(base.length), 100_000_001n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n];
  for (let i = 0; i < 200; i++) lengths.push(BigInt(Math.floor(rng() * 2 ** 31)) * BigInt(1 + Math.floor(rng() * 2 ** 20)));
  for (const n of lengths) {
    const m = base.slice();
    new DataView(m.buffer).setBigUint64(0, n % 2n ** 64n, true);
    const code = outcome(m, `length ${n}`);
    // A length inside the file may still frame valid JSON; one past it never can.
    if (n > BigInt(base.length - 8) || n < 2n) assert.notEqual(code, 'ok', `length ${n}`);
  }
});
