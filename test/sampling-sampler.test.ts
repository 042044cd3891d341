import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, SeededRng, softmax } from '../src/sampling/index.js';
import type { RandomSource, SamplerOptions } from '../src/sampling/index.js';
import { StreamLlmError } from '../src/errors.js';

/** Chi-square critical value for 3 degrees of freedom at alpha = 0.001. */
const CHI2_DF3_P001 = 16.27;

function counts(s: Sampler, logits: Float32Array, n: number): number[] {
  const c = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) c[s.sample(logits)]!++;
  return c;
}

function chiSquare(observed: number[], probs: ArrayLike<number>, n: number): number {
  let chi = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = probs[i]! * n;
    if (e > 0) chi += (observed[i]! - e) ** 2 / e;
    else assert.equal(observed[i], 0, `token ${i} has probability 0 but was drawn`);
  }
  return chi;
}

function maxAbsDiff(observed: number[], probs: ArrayLike<number>, n: number): number {
  return Math.max(...observed.map((o, i) => Math.abs(o / n - probs[i]!)));
}

function randomRow(vocab: number, seed: number, scale = 3): Float32Array {
  const rng = new SeededRng(seed);
  return new Float32Array(vocab).map(() => (rng.nextFloat() - 0.5) * 2 * scale);
}

class CountingRng implements RandomSource {
  calls = 0;
  constructor(private readonly value: number) {}
  nextFloat(): number {
    this.calls++;
    return this.value;
  }
}

const KNOWN = [0.5, 0.25, 0.15, 0.1];
const KNOWN_LOGITS = new Float32Array(KNOWN.map(Math.log));

test('a fixed seed gives the same token sequence; other seeds differ', () => {
  const logits = randomRow(1000, 3, 1);
  const run = (seed: number): number[] => {
    const s = new Sampler({ seed, topP: 0.95 });
    return Array.from({ length: 200 }, () => s.sample(logits));
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
  assert.equal(new Sampler({ seed: 42 }).seed, 42);
});

test('without a seed, a random one is chosen and reported for replay', () => {
  const logits = randomRow(500, 4, 1);
  const a = new Sampler({ temperature: 1.2 });
  assert.ok(Number.isInteger(a.seed));
  const replay = new Sampler({ temperature: 1.2, seed: a.seed! });
  for (let i = 0; i < 50; i++) assert.equal(a.sample(logits), replay.sample(logits));
});

test('greedy picks the argmax with ties to the lowest id, and never draws', () => {
  const rng = new CountingRng(0.999);
  const s = new Sampler({ temperature: 0 }, rng);
  assert.equal(s.sample(new Float32Array([0.1, 3, -2, 3, 2.9])), 1);
  assert.equal(s.sample(new Float32Array([-Infinity, -1, -Infinity])), 1);
  assert.equal(s.sample(new Float32Array([5])), 0);
  assert.equal(rng.calls, 0);
  // filters do not change the greedy answer
  const g = new Sampler({ temperature: 0, topK: 3, topP: 0.1, minP: 0.9 });
  const row = randomRow(5000, 9);
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  assert.equal(g.sample(row), best);
});

test('top-k = 1 equals greedy at any temperature', () => {
  const row = randomRow(2000, 11);
  row[1500] = row[700] = 10; // a tie: the lower id must win
  const greedy = new Sampler({ temperature: 0 }).sample(row);
  assert.equal(greedy, 700);
  for (const temperature of [0.01, 1, 5, 1000]) {
    const s = new Sampler({ temperature, topK: 1, seed: 5 });
    for (let i = 0; i < 20; i++) assert.equal(s.sample(row), greedy);
  }
});

test('each non-greedy sample consumes exactly one nextFloat', () => {
  const rng = new CountingRng(0.5);
  const s = new Sampler({ topK: 1 }, rng);
  s.sample(KNOWN_LOGITS);
  s.sample(KNOWN_LOGITS);
  assert.equal(rng.calls, 2);
});

test('the draw inverts the cumulative distribution in candidate order', () => {
  // probabilities 0.5, 0.25, 0.15, 0.1 (sorted by top-p/top-k, else by id)
  const pick = (u: number): number => new Sampler({}, new CountingRng(u)).sample(KNOWN_LOGITS);
  assert.equal(pick(0), 0);
  assert.equal(pick(0.49), 0);
  assert.equal(pick(0.51), 1);
  assert.equal(pick(0.74), 1);
  assert.equal(pick(0.76), 2);
  assert.equal(pick(0.89), 2);
  assert.equal(pick(0.91), 3);
  assert.equal(pick(1 - 2 ** -53), 3);
});

test('draws match a known distribution (20k draws, chi-square and max-abs-diff)', () => {
  // Tolerances: chi-square below the alpha = 0.001 critical value for 3 df,
  // and every frequency within 0.012 of its probability (about 3.4 sd for
  // p = 0.5 at n = 20000). Seeds are fixed, so this never flakes.
  const n = 20_000;
  const probs = softmax(KNOWN_LOGITS);
  for (const seed of [1, 2, 3]) {
    const c = counts(new Sampler({ seed }), KNOWN_LOGITS, n);
    const chi = chiSquare(c, probs, n);
    assert.ok(chi < CHI2_DF3_P001, `seed ${seed}: chi-square ${chi.toFixed(2)}, counts ${c}`);
    assert.ok(maxAbsDiff(c, probs, n) < 0.012, `seed ${seed}: counts ${c}`);
  }
});

test('temperature reshapes the distribution as p^(1/T)', () => {
  const n = 20_000;
  const entropy = (c: number[]): number => -c.reduce((h, x) => (x > 0 ? h + (x / n) * Math.log(x / n) : h), 0);
  const hs: number[] = [];
  for (const T of [0.5, 1, 2]) {
    const tempered = softmax(KNOWN_LOGITS.map((l) => l / T));
    const c = counts(new Sampler({ temperature: T, seed: 10 }), KNOWN_LOGITS, n);
    const chi = chiSquare(c, tempered, n);
    assert.ok(chi < CHI2_DF3_P001, `T=${T}: chi-square ${chi.toFixed(2)}, counts ${c}`);
    hs.push(entropy(c));
  }
  // sharpening lowers entropy, flattening raises it
  assert.ok(hs[0]! < hs[1]! && hs[1]! < hs[2]!, `entropies ${hs}`);
  // a tiny temperature is effectively greedy
  const cold = counts(new Sampler({ temperature: 1e-6, seed: 1 }), KNOWN_LOGITS, 1000);
  assert.deepEqual(cold, [1000, 0, 0, 0]);
  const subnormal = new Sampler({ temperature: 5e-324, seed: 1 });
  assert.equal(subnormal.sample(KNOWN_LOGITS), 0);
});

test('-Infinity tokens are never drawn', () => {
  const logits = new Float32Array([0, -Infinity, 0, -Infinity]);
  const c = counts(new Sampler({ seed: 8, temperature: 100 }), logits, 2000);
  assert.equal(c[1], 0);
  assert.equal(c[3], 0);
  assert.ok(c[0]! > 800 && c[2]! > 800);
});

test("the caller's logits are never modified", () => {
  const logits = randomRow(3000, 12);
  logits[17] = -Infinity;
  const copy = logits.slice();
  const history = [1, 2, 3, 3, 17, 2000];
  const all: SamplerOptions[] = [
    { temperature: 0, repeatPenalty: 1.3 },
    { topK: 50, topP: 0.9, minP: 0.05, temperature: 0.7, repeatPenalty: 1.2, frequencyPenalty: 0.5, presencePenalty: 0.5 },
    { topP: 0.5 },
    { minP: 0.2 },
  ];
  for (const opts of all) {
    const s = new Sampler({ ...opts, seed: 1 });
    s.sample(logits, history);
    s.candidates(logits, history);
    assert.deepEqual(logits, copy);
  }
});

test('the sampler adapts to a change of vocabulary size', () => {
  const s = new Sampler({ temperature: 0, repeatPenalty: 2 });
  assert.equal(s.sample(new Float32Array([1, 2, 3]), [2]), 1);
  assert.equal(s.sample(new Float32Array([1, 2, 3, 4, 5]), [4]), 3);
  assert.equal(s.sample(new Float32Array([9, 1]), [1]), 0);
});

const isBad = (param: string) => (e: unknown) =>
  e instanceof StreamLlmError && e.code === 'BAD_ARGUMENT' && e.message.includes(param) && e.context.field === param;

test('constructor validation names the parameter and the value', () => {
  const cases: Array<[SamplerOptions, string]> = [
    [{ temperature: -0.1 }, 'temperature'],
    [{ temperature: NaN }, 'temperature'],
    [{ temperature: Infinity }, 'temperature'],
    [{ topK: -1 }, 'topK'],
    [{ topK: 2.5 }, 'topK'],
    [{ topP: 0 }, 'topP'],
    [{ topP: 1.01 }, 'topP'],
    [{ topP: NaN }, 'topP'],
    [{ minP: -0.01 }, 'minP'],
    [{ minP: 1.5 }, 'minP'],
    [{ repeatPenalty: 0 }, 'repeatPenalty'],
    [{ repeatPenalty: -1 }, 'repeatPenalty'],
    [{ repeatPenalty: Infinity }, 'repeatPenalty'],
    [{ frequencyPenalty: NaN }, 'frequencyPenalty'],
    [{ frequencyPenalty: -Infinity }, 'frequencyPenalty'],
    [{ presencePenalty: Infinity }, 'presencePenalty'],
    [{ penaltyLastN: -2 }, 'penaltyLastN'],
    [{ penaltyLastN: 1.5 }, 'penaltyLastN'],
    [{ seed: -1 }, 'seed'],
    [{ seed: 0.5 }, 'seed'],
    [{ topK: '40' as unknown as number }, 'topK'],
  ];
  for (const [opts, param] of cases) {
    assert.throws(() => new Sampler(opts), isBad(param), JSON.stringify(opts));
    const value = Object.values(opts)[0];
    assert.throws(() => new Sampler(opts), (e: Error) => e.message.includes(String(value)), 'value in message');
  }
  // the edges that are allowed
  for (const ok of [{ temperature: 0 }, { topP: 1 }, { minP: 0 }, { minP: 1 }, { penaltyLastN: -1 }, { seed: 2 ** 53 }]) {
    assert.doesNotThrow(() => new Sampler(ok), JSON.stringify(ok));
  }
  assert.throws(() => new Sampler({ seed: 1 }, new CountingRng(0)), isBad('seed'));
  assert.throws(() => new Sampler(null as unknown as SamplerOptions), { code: 'BAD_ARGUMENT' });
});

test('sample() rejects bad logit rows with BAD_ARGUMENT', () => {
  const s = new Sampler({ seed: 1 });
  assert.throws(() => s.sample(new Float32Array([0, NaN, 1])), isBad('logits'));
  assert.throws(() => s.sample(new Float32Array([0, NaN, 1])), /logits\[1\] is NaN/);
  assert.throws(() => s.sample(new Float32Array([0, Infinity])), /logits\[1\] is Infinity/);
  assert.throws(() => s.sample(new Float32Array([-Infinity, -Infinity])), /all -Infinity/);
  assert.throws(() => s.sample(new Float32Array(0)), isBad('logits'));
  assert.throws(() => s.sample([1, 2] as unknown as Float32Array), isBad('logits'));
  // greedy validates too
  assert.throws(() => new Sampler({ temperature: 0 }).sample(new Float32Array([NaN])), isBad('logits'));
  assert.throws(() => new Sampler({ temperature: 0 }).sample(new Float32Array([-Infinity])), /all -Infinity/);
});

test('options are exposed with defaults filled in', () => {
  const o = new Sampler({ topK: 40 }).options;
  assert.deepEqual(
    { ...o, seed: undefined },
    {
      temperature: 1,
      topK: 40,
      topP: 1,
      minP: 0,
      repeatPenalty: 1,
      frequencyPenalty: 0,
      presencePenalty: 0,
      penaltyLastN: 64,
      seed: undefined,
    },
  );
  assert.ok(Object.isFrozen(o));
});

test('a fresh seed is drawn on first use: never by a greedy sampler, once by a sampling one (and it replays)', () => {
  const real = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
  let calls = 0;
  const spy = <T extends ArrayBufferView | null>(a: T): T => {
    calls++;
    return real(a as never) as T;
  };
  const orig = globalThis.crypto.getRandomValues;
  (globalThis.crypto as { getRandomValues: unknown }).getRandomValues = spy;
  try {
    const logits = Float32Array.from([0.1, 2, -1, 0.5]);
    const greedy = new Sampler({ temperature: 0 });
    for (let i = 0; i < 5; i++) assert.equal(greedy.sample(logits), 1);
    assert.equal(calls, 0, 'greedy decoding draws no seed');
    const s = new Sampler({ temperature: 1 });
    assert.equal(calls, 0, 'not at construction');
    const draws = Array.from({ length: 20 }, () => s.sample(logits));
    assert.equal(calls, 1);
    const seed = s.seed;
    assert.ok(Number.isInteger(seed) && seed! >= 0, `seed ${seed}`);
    assert.equal(calls, 1, 'read after the draws: the same seed');
    const again = new Sampler({ temperature: 1, seed });
    assert.deepEqual(Array.from({ length: 20 }, () => again.sample(logits)), draws);
    assert.equal(calls, 1, 'a given seed draws nothing');
  } finally {
    (globalThis.crypto as { getRandomValues: unknown }).getRandomValues = orig;
  }
});
