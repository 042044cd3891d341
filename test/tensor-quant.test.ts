/** Block layouts and half-precision conversions, checked on hand-built bytes (GGUF/ggml layouts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GgmlType, rowBytes } from '../src/tensor/dtype.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../src/tensor/half.js';
import { dequantize, quantize } from '../src/tensor/quant.js';

test('f16: known encodings, round-to-nearest-even, and every half round-trips', () => {
  const known: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [0.1, 0x2e66],
    [Infinity, 0x7c00],
    [1e6, 0x7c00], // overflow → inf
  ];
  for (const [x, h] of known) assert.equal(f32ToF16(x), h, `f32ToF16(${x})`);
  // 1 + 2^-11 is exactly halfway between 1 and the next half: ties go to even (1.0).
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00);
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  for (let h = 0; h < 65536; h++) {
    const x = f16ToF32(h);
    if (Number.isNaN(x)) continue;
    assert.equal(f32ToF16(x), h, `half 0x${h.toString(16)}`);
  }
});

test('bf16: truncation layout with round-to-nearest-even', () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc2f7), -123.5);
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // halfway: to even
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
});

test('Q8_0 block: f16 scale then 32 int8', () => {
  const block = new Uint8Array(34);
  block[0] = 0x00; // d = 0.5 = 0x3800
  block[1] = 0x38;
  for (let j = 0; j < 32; j++) block[2 + j] = (j - 16) & 0xff;
  const out = new Float32Array(32);
  dequantize(GgmlType.Q8_0, block, 0, out, 0, 32);
  for (let j = 0; j < 32; j++) assert.equal(out[j], 0.5 * (j - 16));
  assert.equal(rowBytes(GgmlType.Q8_0, 64), 68);
});

test('Q4_0 block: low nibbles are elements 0..15, high nibbles 16..31, offset by 8', () => {
  const block = new Uint8Array(18);
  block[0] = 0x00; // d = 2 = 0x4000
  block[1] = 0x40;
  for (let j = 0; j < 16; j++) block[2 + j] = (j & 0x0f) | ((15 - j) << 4);
  const out = new Float32Array(32);
  dequantize(GgmlType.Q4_0, block, 0, out, 0, 32);
  for (let j = 0; j < 16; j++) {
    assert.equal(out[j], 2 * (j - 8));
    assert.equal(out[j + 16], 2 * (15 - j - 8));
  }
  assert.equal(rowBytes(GgmlType.Q4_0, 33), -1, 'rows must be whole blocks');
});

test('quantizers follow ggml: Q8_0 maps the largest magnitude to ±127, Q4_0 maps the signed max to -8', () => {
  const x = Float32Array.from({ length: 32 }, (_, i) => (i - 10) / 4);
  const q8 = quantize(GgmlType.Q8_0, x);
  const d8 = f16ToF32(q8[0]! | (q8[1]! << 8));
  assert.ok(Math.abs(d8 - 5.25 / 127) < 1e-4);
  assert.equal((q8[2 + 31]! << 24) >> 24, 127);
  const q4 = quantize(GgmlType.Q4_0, x);
  const d4 = f16ToF32(q4[0]! | (q4[1]! << 8));
  assert.ok(Math.abs(d4 - 5.25 / -8) < 1e-3);
  assert.equal(q4[2 + 15]! >> 4, 0, 'element 31 (the max) is nibble 0 = -8');
  const back = new Float32Array(32);
  dequantize(GgmlType.Q4_0, q4, 0, back, 0, 32);
  for (let i = 0; i < 32; i++) assert.ok(Math.abs(back[i]! - x[i]!) <= Math.abs(d4) / 2 + 1e-6, `element ${i}`);
});
