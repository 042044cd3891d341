/**
 * The scalar kernels are the oracle for every fast backend, so they are
 * checked here against independent formulations: complex-number RoPE,
 * dequantize-then-dot, textbook norms.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ropeSpec } from '../src/kernels/rope.js';
import { scalarOps } from '../src/kernels/scalar.js';
import type { WeightMatrix } from '../src/kernels/types.js';
import { SeededRng } from '../src/sampling/rng.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { dequantize, quantize } from '../src/tensor/quant.js';

const rng = new SeededRng(99);
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);

function matrix(type: GgmlType, rows: number, cols: number): { w: WeightMatrix; dense: Float32Array } {
  const x = rand(rows * cols);
  const data = quantize(type, x);
  const dense = new Float32Array(rows * cols);
  dequantize(type, data, 0, dense, 0, rows * cols);
  return { w: { name: 'w', type, rows, cols, data }, dense };
}

test('matmul over every weight type equals dequantize-then-dot (odd row and token counts)', () => {
  for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const rows = 37;
    const cols = 96;
    const n = 5;
    const { w, dense } = matrix(type, rows, cols);
    const x = rand(n * cols);
    const out = new Float32Array(n * rows);
    scalarOps.matmul(out, w, x, n);
    for (let t = 0; t < n; t++) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += dense[r * cols + c]! * x[t * cols + c]!;
        assert.ok(Math.abs(out[t * rows + r]! - s) <= 1e-5 * (1 + Math.abs(s)), `${GgmlType[type]} t=${t} r=${r}: ${out[t * rows + r]} vs ${s}`);
      }
    }
  }
});

test('getRows dequantizes embedding rows and rejects out-of-range ids', () => {
  const { w, dense } = matrix(GgmlType.Q8_0, 10, 64);
  const out = new Float32Array(2 * 64);
  scalarOps.getRows(out, w, [7, 2]);
  assert.deepEqual(Array.from(out.subarray(0, 64)), Array.from(dense.subarray(7 * 64, 8 * 64)));
  assert.deepEqual(Array.from(out.subarray(64)), Array.from(dense.subarray(2 * 64, 3 * 64)));
  assert.throws(() => scalarOps.getRows(out, w, [10]), { code: 'TOKEN_OUT_OF_RANGE' });
  assert.throws(() => scalarOps.getRows(out, w, [-1]), { code: 'TOKEN_OUT_OF_RANGE' });
});

test('rope (adjacent) equals multiplying complex pairs by e^{i·pos·θ_k}', () => {
  const d = 16;
  const spec = ropeSpec({ style: 'adjacent', dims: d, base: 10000 });
  const x = rand(2 * d);
  const y = Float32Array.from(x);
  const pos = 37;
  scalarOps.rope(y, 0, 2, d, pos, spec);
  for (let h = 0; h < 2; h++) {
    for (let k = 0; k < d / 2; k++) {
      const th = pos * Math.pow(10000, (-2 * k) / d);
      const re = x[h * d + 2 * k]!;
      const im = x[h * d + 2 * k + 1]!;
      assert.ok(Math.abs(y[h * d + 2 * k]! - (re * Math.cos(th) - im * Math.sin(th))) < 1e-6);
      assert.ok(Math.abs(y[h * d + 2 * k + 1]! - (re * Math.sin(th) + im * Math.cos(th))) < 1e-6);
    }
  }
});

test('rope (halves, partial) rotates (i, i+dims/2) pairs and leaves the tail alone', () => {
  const headDim = 24;
  const dims = 16;
  const halves = ropeSpec({ style: 'halves', dims, base: 500 });
  const adjacent = ropeSpec({ style: 'adjacent', dims, base: 500 });
  const x = rand(headDim);
  // Permute halves layout into adjacent layout: (i, i+8) -> (2i, 2i+1).
  const perm = (v: Float32Array) => {
    const o = Float32Array.from(v);
    for (let i = 0; i < dims / 2; i++) {
      o[2 * i] = v[i]!;
      o[2 * i + 1] = v[i + dims / 2]!;
    }
    return o;
  };
  const a = Float32Array.from(x);
  scalarOps.rope(a, 0, 1, headDim, 11, halves);
  const b = perm(x);
  scalarOps.rope(b, 0, 1, headDim, 11, adjacent);
  const pa = perm(a);
  for (let i = 0; i < headDim; i++) assert.ok(Math.abs(pa[i]! - b[i]!) < 1e-6, `dim ${i}`);
  for (let i = dims; i < headDim; i++) assert.equal(a[i], x[i], 'pass-through dims must not change');
});

test('rope scores depend only on distance, exactly, even at positions in the millions', () => {
  const d = 64;
  const spec = ropeSpec({ style: 'adjacent', dims: d, base: 10000 });
  const q = rand(d);
  const k = rand(d);
  const score = (pq: number, pk: number) => {
    const a = Float32Array.from(q);
    const b = Float32Array.from(k);
    scalarOps.rope(a, 0, 1, d, pq, spec);
    scalarOps.rope(b, 0, 1, d, pk, spec);
    let s = 0;
    for (let i = 0; i < d; i++) s += a[i]! * b[i]!;
    return s;
  };
  const near = score(12, 5);
  for (const base of [1000, 1_000_000, 123_456_789]) {
    const far = score(base + 12, base + 5);
    assert.ok(Math.abs(far - near) < 1e-4, `offset ${base}: ${far} vs ${near}`);
  }
});

test('rmsnorm and layernorm match their textbook formulas', () => {
  const d = 33;
  const x = rand(2 * d, 3);
  const w = rand(d);
  const b = rand(d);
  const o = new Float32Array(2 * d);
  scalarOps.rmsnorm(o, x, w, 1e-5, 2);
  for (let t = 0; t < 2; t++) {
    const row = x.subarray(t * d, (t + 1) * d);
    const rms = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / d + 1e-5);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(o[t * d + i]! - (row[i]! / rms) * w[i]!) < 1e-6);
  }
  scalarOps.layernorm(o, x, w, b, 1e-5, 2);
  for (let t = 0; t < 2; t++) {
    const row = Array.from(x.subarray(t * d, (t + 1) * d));
    const mean = row.reduce((s, v) => s + v, 0) / d;
    const sd = Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / d + 1e-5);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(o[t * d + i]! - (((row[i]! - mean) / sd) * w[i]! + b[i]!)) < 1e-5);
  }
});

test('softmax is normalized, shift-invariant and gives -Infinity entries zero weight', () => {
  const x = Float32Array.from([1, 2, -Infinity, 3, 1000]);
  scalarOps.softmax(x, 0, 5);
  assert.ok(Math.abs(x.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.equal(x[2], 0);
  assert.ok(x[4]! > 0.999);
  const y = Float32Array.from([0.5, -0.5, 0.25]);
  const z = Float32Array.from([100.5, 99.5, 100.25]);
  scalarOps.softmax(y, 0, 3);
  scalarOps.softmax(z, 0, 3);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(y[i]! - z[i]!) < 1e-6);
});

test('swiglu, gelu, dotRows and axpyRows match direct formulas', () => {
  const g = rand(9, 4);
  const u = rand(9);
  const gg = Float32Array.from(g);
  scalarOps.swiglu(gg, u, 9);
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(gg[i]! - (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]!) < 1e-6);
  const e = Float32Array.from([-3, -1, 0, 0.5, 2]);
  scalarOps.gelu(e, 5);
  const ref = [-0.00363739, -0.158808, 0, 0.345714, 1.954598]; // tanh-approximation GELU
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(e[i]! - ref[i]!) < 1e-5, `gelu ${i}: ${e[i]}`);
  const q = rand(8);
  const K = rand(3 * 10);
  const s = new Float32Array(3);
  scalarOps.dotRows(s, 0, q, 0, K, 1, 10, 3, 8, 0.5); // stride 10, offset 1
  for (let j = 0; j < 3; j++) {
    let want = 0;
    for (let i = 0; i < 8; i++) want += q[i]! * K[1 + j * 10 + i]!;
    assert.ok(Math.abs(s[j]! - 0.5 * want) < 1e-6);
  }
  const out = new Float32Array(8);
  scalarOps.axpyRows(out, 0, Float32Array.from([0.2, 0.3, 0.5]), 0, K, 1, 10, 3, 8);
  for (let i = 0; i < 8; i++) {
    const want = 0.2 * K[1 + i]! + 0.3 * K[11 + i]! + 0.5 * K[21 + i]!;
    assert.ok(Math.abs(out[i]! - want) < 1e-6);
  }
});
