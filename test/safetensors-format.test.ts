/**
 * The safetensors reader and writer: round trips, then one test per kind of
 * header damage with the exact error (code, reason, tensor, offset), then
 * sharded checkpoints and their index.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { StreamLlmError, type ErrorCode } from '../src/errors.js';
import {
  encodeSafetensors,
  parseStrictJson,
  SafetensorsCheckpoint,
  SafetensorsFile,
  writeSafetensors,
  type SafetensorsProblem,
  type SafetensorsWriterTensor,
} from '../src/formats/safetensors/index.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('streamllm-st-');
const enc = new TextEncoder();

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 0xff);
}

const SAMPLE: SafetensorsWriterTensor[] = [
  { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [3, 4], data: bytes(48, 1) },
  { name: 'model.norm.weight', dtype: 'BF16', shape: [4], data: bytes(8, 2) },
  { name: 'h.0.w', dtype: 'F16', shape: [2, 2, 2], data: bytes(16, 3) },
  { name: 'scalar', dtype: 'I64', shape: [], data: bytes(8, 4) },
  { name: 'empty', dtype: 'U8', shape: [0, 5], data: new Uint8Array(0) },
  { name: 'mask', dtype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) },
];

/** A file whose header is exactly `json` (no padding), followed by `data`. */
function raw(json: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = enc.encode(json);
  const out = new Uint8Array(8 + body.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  out.set(data, 8 + body.length);
  return out;
}

function expectError(fn: () => unknown, code: ErrorCode, more: { reason?: SafetensorsProblem; tensor?: string; offset?: number; message?: RegExp } = {}): StreamLlmError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof StreamLlmError, `expected StreamLlmError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (more.reason !== undefined) assert.equal(caught.context['reason'], more.reason, caught.message);
  if (more.tensor !== undefined) assert.equal(caught.context.tensor, more.tensor, caught.message);
  if (more.offset !== undefined) assert.equal(caught.context.offset, more.offset, caught.message);
  if (more.message !== undefined) assert.match(caught.message, more.message);
  return caught;
}

test('round trip: every tensor comes back with its dtype, shape and bytes; data starts 8-aligned', () => {
  const file = encodeSafetensors({ metadata: { format: 'pt', note: 'héllo' }, tensors: SAMPLE });
  const f = SafetensorsFile.fromBytes(file, 'sample');
  assert.equal(f.dataStart % 8, 0);
  assert.deepEqual([...f.metadata], [['format', 'pt'], ['note', 'héllo']]);
  assert.deepEqual(f.tensors.map((t) => t.name), SAMPLE.map((t) => t.name));
  for (const s of SAMPLE) {
    const t = f.tensor(s.name)!;
    assert.equal(t.dtype, s.dtype);
    assert.deepEqual(t.shape, s.shape);
    assert.deepEqual(f.readTensor(t, new Uint8Array(t.nBytes)), s.data);
  }
  assert.equal(f.tensor('scalar')!.nElements, 1);
  assert.equal(f.tensor('empty')!.nBytes, 0);
  // Written to disk, streamed: the same bytes.
  const path = join(dir, 'sample.safetensors');
  assert.equal(writeSafetensors(path, { metadata: { format: 'pt', note: 'héllo' }, tensors: SAMPLE.map((t) => ({ ...t, data: () => t.data as Uint8Array })) }), file.length);
  assert.deepEqual(new Uint8Array(readFileSync(path)), file);
  using g = SafetensorsFile.open(path);
  assert.deepEqual(g.readTensor('h.0.w', new Uint8Array(16)), SAMPLE[2]!.data);
});

test('reads are checked: wrong destination size, unknown tensor, after close', () => {
  const f = SafetensorsFile.fromBytes(encodeSafetensors({ tensors: SAMPLE }));
  expectError(() => f.readTensor('model.norm.weight', new Uint8Array(7)), 'BAD_ARGUMENT');
  expectError(() => f.readTensor('nope', new Uint8Array(0)), 'MISSING_TENSOR', { tensor: 'nope' });
  f.close();
  expectError(() => f.readTensor('model.norm.weight', new Uint8Array(8)), 'FILE_READ');
});

test('writer refuses duplicate names, wrong data sizes and bad shapes; a failed write leaves no file', () => {
  const t = SAMPLE[0]!;
  expectError(() => encodeSafetensors({ tensors: [t, t] }), 'BAD_ARGUMENT', { message: /twice/ });
  expectError(() => encodeSafetensors({ tensors: [{ ...t, data: new Uint8Array(47) }] }), 'BAD_ARGUMENT', { message: /needs 48/ });
  expectError(() => encodeSafetensors({ tensors: [{ ...t, shape: [-1, 4] }] }), 'BAD_ARGUMENT');
  const path = join(dir, 'partial.safetensors');
  expectError(() => writeSafetensors(path, { tensors: [t, { ...t, name: 'b', data: () => new Uint8Array(3) }] }), 'BAD_ARGUMENT');
  assert.equal(existsSync(path), false);
});

test('header length: too short a file, beyond the cap, beyond the file, too small for JSON', () => {
  expectError(() => SafetensorsFile.fromBytes(new Uint8Array(5)), 'SAFETENSORS_TRUNCATED', { reason: 'truncated', offset: 0 });
  const huge = new Uint8Array(64);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
  expectError(() => SafetensorsFile.fromBytes(huge), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', offset: 0, message: /exceeds/ });
  const long = raw('{}');
  new DataView(long.buffer).setBigUint64(0, 1000n, true);
  expectError(() => SafetensorsFile.fromBytes(long), 'SAFETENSORS_TRUNCATED', { reason: 'truncated', offset: 0 });
  expectError(() => SafetensorsFile.fromBytes(raw('{')), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header' });
});

test('header text: not UTF-8, not an object, invalid JSON, nested too deep — with the byte offset', () => {
  const bad = raw('{"a":1}');
  bad[10] = 0xff;
  expectError(() => SafetensorsFile.fromBytes(bad), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', message: /UTF-8/ });
  expectError(() => SafetensorsFile.fromBytes(raw('[1,2,3]  ')), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', message: /start with/ });
  expectError(() => SafetensorsFile.fromBytes(raw('{"x": {"dtype": "F32",}}')), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', offset: 8 + 22 });
  expectError(() => SafetensorsFile.fromBytes(raw(`{"x": ${'['.repeat(100)}${']'.repeat(100)}}`)), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', message: /nesting/ });
  // Space padding after the object is allowed (the reference writer pads with spaces).
  assert.equal(SafetensorsFile.fromBytes(raw('{}      ')).tensors.length, 0);
});

test('a tensor listed twice is reported by name, not silently overwritten as JSON.parse would', () => {
  const json = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}';
  expectError(() => SafetensorsFile.fromBytes(raw(json, new Uint8Array(8))), 'SAFETENSORS_DUPLICATE_TENSOR', { reason: 'duplicate-tensor', tensor: 'w', offset: 8 + json.lastIndexOf('"w"') });
});

test('entries: dtype, shape and data_offsets are validated and named', () => {
  const entry = (e: string, data = 16) => SafetensorsFile.fromBytes(raw(`{"t": ${e}}`, new Uint8Array(data)));
  expectError(() => entry('{"dtype": "Q4", "shape": [4], "data_offsets": [0, 2]}'), 'UNSUPPORTED_TENSOR_TYPE', { tensor: 't', message: /Q4/ });
  expectError(() => entry('{"shape": [4], "data_offsets": [0, 16]}'), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', tensor: 't' });
  expectError(() => entry('{"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}'), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', tensor: 't' });
  expectError(() => entry('{"dtype": "F32", "shape": [1.5], "data_offsets": [0, 16]}'), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header' });
  expectError(() => entry('{"dtype": "F32", "shape": [4], "data_offsets": [0]}'), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header' });
  expectError(() => entry('{"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}'), 'SAFETENSORS_BAD_OFFSET', { reason: 'bad-offset', tensor: 't' });
  expectError(() => entry('{"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}'), 'SAFETENSORS_TRUNCATED', { reason: 'truncated', tensor: 't' });
  expectError(() => entry('{"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}'), 'TENSOR_SHAPE_MISMATCH', { tensor: 't' });
  expectError(() => entry('{"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}'), 'SAFETENSORS_BAD_HEADER', { message: /too many elements/ });
  expectError(() => entry('{"dtype": "F32", "shape": [4], "data_offsets": [0, 9007199254740993]}'), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header' });
  expectError(() => SafetensorsFile.fromBytes(raw('{"__metadata__": {"a": 1}}')), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', message: /__metadata__/ });
});

test('overlapping tensors are refused naming both; holes and zero-size tensors are fine', () => {
  const two = (a: string, b: string) => `{"a": {"dtype": "F32", "shape": [2], "data_offsets": ${a}}, "b": {"dtype": "F32", "shape": [2], "data_offsets": ${b}}}`;
  const err = expectError(() => SafetensorsFile.fromBytes(raw(two('[0, 8]', '[4, 12]'), new Uint8Array(12))), 'SAFETENSORS_BAD_OFFSET', { reason: 'bad-offset', tensor: 'b' });
  assert.equal(err.context['other'], 'a');
  assert.equal(SafetensorsFile.fromBytes(raw(two('[8, 16]', '[0, 8]'), new Uint8Array(16))).tensor('a')!.offset, 8 + two('[8, 16]', '[0, 8]').length + 8);
  assert.ok(SafetensorsFile.fromBytes(raw(two('[0, 8]', '[12, 20]'), new Uint8Array(20))));
  const z = '{"z": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}';
  assert.ok(SafetensorsFile.fromBytes(raw(z, new Uint8Array(8))));
});

test('"__proto__" and other odd names are ordinary tensor names', () => {
  const f = SafetensorsFile.fromBytes(encodeSafetensors({ tensors: [{ name: '__proto__', dtype: 'F32', shape: [1], data: bytes(4, 9) }, { name: 'constructor', dtype: 'U8', shape: [1], data: Uint8Array.of(7) }] }));
  assert.deepEqual(f.tensors.map((t) => t.name), ['__proto__', 'constructor']);
  assert.deepEqual(f.readTensor('constructor', new Uint8Array(1)), Uint8Array.of(7));
});

test('strict JSON: escapes, numbers, duplicate keys at any depth, trailing garbage', () => {
  const v = parseStrictJson('{"a\\u00e9\\n": [1, -2.5e3, true, null, "x\\"y"], "b": {}}') as Map<string, unknown>;
  assert.deepEqual(v.get('aé\n'), [1, -2500, true, null, 'x"y']);
  assert.throws(() => parseStrictJson('{"a": {"k": 1, "k": 2}}'), /duplicate key "k"/);
  assert.throws(() => parseStrictJson('{} x'), /trailing/);
  assert.throws(() => parseStrictJson('{"a": 01}'), /expected/);
  assert.throws(() => parseStrictJson('"tab\there"'), /control character/);
});

function shardFile(name: string, tensors: SafetensorsWriterTensor[], folder: string): void {
  writeSafetensors(join(folder, name), { tensors });
}

test('sharded checkpoint: the index decides; missing, misplaced and escaping entries are refused', () => {
  const folder = join(dir, 'sharded');
  mkdirSync(folder);
  const [a, b, c] = SAMPLE;
  shardFile('s1.safetensors', [a!, b!], folder);
  shardFile('s2.safetensors', [c!, { name: 'unlisted', dtype: 'U8', shape: [1], data: Uint8Array.of(1) }], folder);
  const index = (map: Record<string, string>) => writeFileSync(join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));
  index({ [a!.name]: 's1.safetensors', [c!.name]: 's2.safetensors', [b!.name]: 's1.safetensors' });
  using ck = SafetensorsCheckpoint.open(folder);
  assert.deepEqual(ck.tensors.map((t) => t.name), [a!.name, c!.name, b!.name]);
  assert.equal(ck.files.length, 2);
  assert.deepEqual(ck.readTensor(c!.name, new Uint8Array(16)), c!.data);
  assert.equal(ck.tensor('unlisted'), undefined, 'a tensor the index does not list is ignored');

  index({ [a!.name]: 's2.safetensors' });
  expectError(() => SafetensorsCheckpoint.open(folder), 'MISSING_TENSOR', { tensor: a!.name });
  index({ [a!.name]: '../s1.safetensors' });
  expectError(() => SafetensorsCheckpoint.open(folder), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header', tensor: a!.name });
  index({ [a!.name]: 'missing.safetensors' });
  expectError(() => SafetensorsCheckpoint.open(folder), 'FILE_NOT_FOUND');
  writeFileSync(join(folder, 'model.safetensors.index.json'), `{"weight_map": {"x": "s1.safetensors", "x": "s2.safetensors"}}`);
  expectError(() => SafetensorsCheckpoint.open(folder), 'SAFETENSORS_DUPLICATE_TENSOR', { reason: 'duplicate-tensor', tensor: 'x' });
  writeFileSync(join(folder, 'model.safetensors.index.json'), '{"weight_map": {}}');
  expectError(() => SafetensorsCheckpoint.open(folder), 'NO_TENSORS');
  writeFileSync(join(folder, 'model.safetensors.index.json'), '{"weight_map": ');
  expectError(() => SafetensorsCheckpoint.open(folder), 'SAFETENSORS_BAD_HEADER', { reason: 'bad-header' });
});

test('a folder without safetensors weights says so', () => {
  const folder = join(dir, 'empty');
  mkdirSync(folder);
  expectError(() => SafetensorsCheckpoint.open(folder), 'FILE_NOT_FOUND', { message: /model\.safetensors/ });
  expectError(() => SafetensorsCheckpoint.open(join(dir, 'nothing.safetensors')), 'FILE_NOT_FOUND');
});
