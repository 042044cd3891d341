import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmax, logSoftmax, logSumExp, softmax } from '../src/sampling/index.js';

const close = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (diff ${Math.abs(a - b)}, tol ${tol})`);

test('argmax picks the maximum, ties go to the lowest index', () => {
  assert.equal(argmax(new Float32Array([0.5, 2, 2, -1])), 1);
  assert.equal(argmax(new Float32Array([3, 3, 3])), 0);
  assert.equal(argmax(new Float32Array([-Infinity, -5, -Infinity])), 1);
  assert.equal(argmax([7]), 0);
  assert.equal(argmax(new Float32Array([-Infinity, -Infinity])), 0);
});

test('argmax rejects empty rows and NaN', () => {
  assert.throws(() => argmax(new Float32Array(0)), { code: 'BAD_ARGUMENT' });
  assert.throws(() => argmax(new Float32Array([1, NaN, 2])), /logits\[1\] is NaN/);
  assert.throws(() => argmax(new Float32Array([NaN, 1])), { code: 'BAD_ARGUMENT' });
});

test('softmax: known values, sums to 1, -Infinity gives 0', () => {
  const p = softmax([0, Math.log(3), -Infinity]);
  close(p[0]!, 0.25, 1e-15, 'p0');
  close(p[1]!, 0.75, 1e-15, 'p1');
  assert.equal(p[2], 0);
  const row = new Float32Array(1000).map((_, i) => Math.sin(i) * 10);
  const q = softmax(row);
  close(q.reduce((s, x) => s + x, 0), 1, 1e-12, 'sum');
});

test('softmax does not overflow on huge logits', () => {
  const p = softmax(new Float32Array([1e30, 1e30, 1e30 - 1e24]));
  close(p[0]!, 0.5, 1e-15, 'p0');
  close(p[1]!, 0.5, 1e-15, 'p1');
  assert.equal(p[2], 0);
});

test('logSoftmax equals log(softmax) and stays finite for tiny probabilities', () => {
  const row = [2, -1, 0.5, -700];
  const lp = logSoftmax(row);
  const p = softmax(row);
  for (let i = 0; i < 3; i++) close(lp[i]!, Math.log(p[i]!), 1e-13, `lp${i}`);
  // exp(-700 - 2) underflows nowhere in log space
  close(lp[3]!, -700 - logSumExp(row), 1e-12, 'tiny');
  assert.ok(Number.isFinite(lp[3]!));
  assert.equal(logSoftmax([0, -Infinity])[1], -Infinity);
});

test('logSumExp accumulates in float64 over a large flat row', () => {
  const n = 150_000;
  const row = new Float32Array(n).fill(0.1);
  close(logSumExp(row), Math.fround(0.1) + Math.log(n), 1e-12, 'lse');
  close(logSumExp([0, 0]), Math.LN2, 1e-16, 'ln2');
});

test('softmax/logSoftmax write into out and check its length', () => {
  const out = new Float64Array(2);
  assert.equal(softmax([0, 0], out), out);
  assert.deepEqual([...out], [0.5, 0.5]);
  assert.equal(logSoftmax([0, 0], out), out);
  assert.throws(() => softmax([0, 0, 0], out), { code: 'BAD_ARGUMENT' });
});

test('reductions reject empty, NaN, +Infinity and all -Infinity rows', () => {
  for (const fn of [softmax, logSoftmax, logSumExp] as const) {
    assert.throws(() => fn([]), { code: 'BAD_ARGUMENT' });
    assert.throws(() => fn([0, NaN]), /logits\[1\] is NaN/);
    assert.throws(() => fn([Infinity, 0]), /logits\[0\] is Infinity/);
    assert.throws(() => fn([-Infinity, -Infinity]), /all -Infinity/);
  }
});
