import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SEED, SeededRng, randomSeed } from '../src/sampling/index.js';
import { StreamLlmError } from '../src/errors.js';

function draws(rng: SeededRng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextU32());
}

// Vectors from the xoshiro128** and SplitMix64 reference C code
// (prng.di.unimi.it), compiled and run independently of this implementation.
test('xoshiro128** matches the reference for state {1, 2, 3, 4}', () => {
  const rng = SeededRng.fromState([1, 2, 3, 4]);
  assert.deepEqual(draws(rng, 6), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

test('SplitMix64 seeding matches the reference C seeding', () => {
  assert.deepEqual(draws(new SeededRng(0), 4), [3737715805, 2584255861, 2876756834, 3286328325]);
  assert.deepEqual(draws(new SeededRng(42), 4), [1776835114, 4165204688, 17111135, 2317295270]);
  assert.deepEqual(draws(new SeededRng(2 ** 53), 4), [737483044, 1905701964, 87905447, 1487455117]);
});

test('same seed gives the same stream; different seeds differ', () => {
  const a = new SeededRng(1234);
  const b = new SeededRng(1234);
  const c = new SeededRng(1235);
  const sa = draws(a, 100);
  assert.deepEqual(sa, draws(b, 100));
  assert.notDeepEqual(sa, draws(c, 100));
  // seeds that differ only above bit 32 must also give different streams
  assert.notDeepEqual(draws(new SeededRng(7), 8), draws(new SeededRng(7 + 2 ** 32), 8));
});

test('nextU32 is a u32 and nextFloat is in [0, 1) with the expected mean', () => {
  const rng = new SeededRng(99);
  for (let i = 0; i < 1000; i++) {
    const u = rng.nextU32();
    assert.ok(Number.isInteger(u) && u >= 0 && u < 2 ** 32, `bad u32 ${u}`);
  }
  let sum = 0;
  let min = 1;
  let max = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const f = rng.nextFloat();
    assert.ok(f >= 0 && f < 1, `bad float ${f}`);
    sum += f;
    min = Math.min(min, f);
    max = Math.max(max, f);
  }
  // mean of U(0,1) has sd 1/sqrt(12 n) ~ 0.0009; allow 5 sd
  assert.ok(Math.abs(sum / n - 0.5) < 0.0046, `mean ${sum / n}`);
  assert.ok(min < 0.001 && max > 0.999);
});

test('nextFloat uses 53 bits (values are not all multiples of 2^-24)', () => {
  const rng = new SeededRng(5);
  let fine = 0;
  for (let i = 0; i < 100; i++) {
    const f = rng.nextFloat();
    if (f * 2 ** 24 !== Math.floor(f * 2 ** 24)) fine++;
  }
  assert.ok(fine > 90);
});

test('getState/setState replays the stream', () => {
  const rng = new SeededRng(77);
  draws(rng, 10);
  const saved = rng.getState();
  const next = draws(rng, 20);
  rng.setState(saved);
  assert.deepEqual(draws(rng, 20), next);
});

test('seed validation: BAD_ARGUMENT naming the seed', () => {
  for (const bad of [-1, 1.5, NaN, Infinity, MAX_SEED + 2, '3' as unknown as number]) {
    assert.throws(
      () => new SeededRng(bad),
      (e: unknown) => e instanceof StreamLlmError && e.code === 'BAD_ARGUMENT' && /seed/.test(e.message),
      `seed ${String(bad)}`,
    );
  }
  assert.throws(() => SeededRng.fromState([0, 0, 0, 0]), { code: 'BAD_ARGUMENT' });
  assert.throws(() => SeededRng.fromState([1, 2, 3]), { code: 'BAD_ARGUMENT' });
  assert.throws(() => SeededRng.fromState([1, 2, 3, 2 ** 32]), { code: 'BAD_ARGUMENT' });
});

test('randomSeed returns distinct valid seeds', () => {
  const seeds = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const s = randomSeed();
    assert.ok(Number.isInteger(s) && s >= 0 && s < MAX_SEED, `seed ${s}`);
    seeds.add(s);
  }
  assert.ok(seeds.size >= 19);
  assert.doesNotThrow(() => new SeededRng(randomSeed()));
});
