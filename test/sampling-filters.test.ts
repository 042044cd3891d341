import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, SeededRng } from '../src/sampling/index.js';
import type { SamplerOptions } from '../src/sampling/index.js';

function counts(s: Sampler, logits: Float32Array, n: number): number[] {
  const c = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) c[s.sample(logits)]!++;
  return c;
}

const ids = (s: Sampler, logits: Float32Array): number[] =>
  s
    .candidates(logits)
    .map((c) => c.id)
    .sort((a, b) => a - b);

/**
 * Brute-force reference for the filter chain, written from the spec: full
 * sort (logit desc, id asc), top-k prefix, shortest prefix with mass >= topP
 * (temperature 1, renormalized over the top-k set), min-p against the max,
 * then temperature. Returns token -> final probability.
 */
const sortedOrder = new WeakMap<Float32Array, number[]>();

function reference(logits: Float32Array, o: SamplerOptions): Map<number, number> {
  let order = sortedOrder.get(logits);
  if (order === undefined) {
    order = [...logits.keys()].filter((i) => logits[i] !== -Infinity);
    order.sort((a, b) => logits[b]! - logits[a]! || a - b);
    sortedOrder.set(logits, order);
  }
  let keep = order;
  if (o.topK) keep = keep.slice(0, o.topK);
  const m = logits[keep[0]!]!;
  if (o.topP !== undefined && o.topP < 1) {
    const z = keep.reduce((s, t) => s + Math.exp(logits[t]! - m), 0);
    let cum = 0;
    let len = keep.length;
    for (let j = 0; j < keep.length; j++) {
      cum += Math.exp(logits[keep[j]!]! - m) / z;
      if (cum >= o.topP) {
        len = j + 1;
        break;
      }
    }
    keep = keep.slice(0, len);
  }
  if (o.minP) keep = keep.filter((t) => Math.exp(logits[t]! - m) >= o.minP!);
  const T = o.temperature ?? 1;
  const w = keep.map((t) => Math.exp((logits[t]! - m) / T));
  const z = w.reduce((a, b) => a + b, 0);
  return new Map(keep.map((t, j) => [t, w[j]! / z]));
}

function assertMatchesReference(logits: Float32Array, o: SamplerOptions, label: string): number {
  const want = reference(logits, o);
  const got = new Sampler({ ...o, seed: 1 }).candidates(logits);
  const gotIds = got.map((c) => c.id).sort((a, b) => a - b);
  const wantIds = [...want.keys()].sort((a, b) => a - b);
  if (gotIds.length !== wantIds.length || gotIds.some((t, i) => t !== wantIds[i])) {
    const first = gotIds.findIndex((t, i) => t !== wantIds[i]);
    assert.fail(`${label}: kept ${gotIds.length} tokens, reference ${wantIds.length}; first difference at #${first}`);
  }
  let maxDiff = 0;
  for (const { id, p } of got) maxDiff = Math.max(maxDiff, Math.abs(p - want.get(id)!));
  assert.ok(maxDiff < 1e-12, `${label}: max-abs-diff of probabilities ${maxDiff}`);
  return gotIds.length;
}

// --- top-p ---------------------------------------------------------------

// probabilities by id: 0.1, 0.3, 0 (banned), 0.4, 0.2; sorted: 3, 1, 4, 0
const HAND = new Float32Array([0.1, 0.3, 0, 0.4, 0.2].map(Math.log));

test('top-p keeps the smallest prefix with mass >= p: set and draws', () => {
  const cases: Array<[number, number[]]> = [
    [0.3, [3]], // 0.4 alone suffices
    [0.65, [1, 3]], // 0.4 < 0.65 <= 0.7
    [0.75, [1, 3, 4]], // 0.7 < 0.75 <= 0.9
    [0.95, [0, 1, 3, 4]],
  ];
  for (const [topP, kept] of cases) {
    assert.deepEqual(ids(new Sampler({ topP, seed: 1 }), HAND), kept, `topP ${topP}`);
    const c = counts(new Sampler({ topP, seed: 2 }), HAND, 5000);
    for (let t = 0; t < HAND.length; t++) {
      if (kept.includes(t)) assert.ok(c[t]! > 0, `topP ${topP}: kept token ${t} never drawn`);
      else assert.equal(c[t], 0, `topP ${topP}: dropped token ${t} drawn ${c[t]} times`);
    }
  }
  // within the kept set, relative odds are preserved: 0.4 : 0.3
  const c = counts(new Sampler({ topP: 0.65, seed: 3 }), HAND, 20_000);
  assert.ok(Math.abs(c[3]! / 20_000 - 4 / 7) < 0.012, `counts ${c}`);
});

test('top-p at an exact boundary keeps the prefix that reaches p, ties to lower ids', () => {
  // four equal tokens: 0.25 each, exactly representable
  const flat = new Float32Array(4);
  assert.deepEqual(ids(new Sampler({ topP: 0.5, seed: 1 }), flat), [0, 1]);
  assert.deepEqual(ids(new Sampler({ topP: 0.5000001, seed: 1 }), flat), [0, 1, 2]);
  assert.deepEqual(ids(new Sampler({ topP: 0.25, seed: 1 }), flat), [0]);
  assert.deepEqual(ids(new Sampler({ topP: 0.01, seed: 1 }), flat), [0]);
  assert.deepEqual(ids(new Sampler({ topP: 1, seed: 1 }), flat), [0, 1, 2, 3]);
});

test('top-p applies to the top-k survivors (renormalized)', () => {
  // after top-k=2 the probabilities are 4/7 and 3/7: topP 0.5 keeps only token 3
  assert.deepEqual(ids(new Sampler({ topK: 2, topP: 0.5, seed: 1 }), HAND), [3]);
  assert.deepEqual(ids(new Sampler({ topK: 2, topP: 0.6, seed: 1 }), HAND), [1, 3]);
});

// --- min-p ---------------------------------------------------------------

test('min-p drops tokens below minP * p_max', () => {
  // relative to the max: 1, 0.3, 0.05, 0.2, 0.0999
  const rel = [1, 0.3, 0.05, 0.2, 0.0999];
  const logits = new Float32Array(rel.map((r) => 2 + Math.log(r)));
  assert.deepEqual(ids(new Sampler({ minP: 0.1, seed: 1 }), logits), [0, 1, 3]);
  assert.deepEqual(ids(new Sampler({ minP: 0.04, seed: 1 }), logits), [0, 1, 2, 3, 4]);
  assert.deepEqual(ids(new Sampler({ minP: 0.25, seed: 1 }), logits), [0, 1]);
  const c = counts(new Sampler({ minP: 0.1, seed: 4 }), logits, 5000);
  assert.equal(c[2], 0);
  assert.equal(c[4], 0);
  assert.ok(c[0]! > 0 && c[1]! > 0 && c[3]! > 0, `counts ${c}`);
});

test('min-p = 1 keeps exactly the tokens tied for the maximum', () => {
  const logits = new Float32Array([1, 3, 3, 0, 2.9999]);
  assert.deepEqual(ids(new Sampler({ minP: 1, seed: 1 }), logits), [1, 2]);
});

test('min-p is judged before temperature', () => {
  // at T=1 token 1 has relative probability 0.2 >= 0.1: kept even though
  // at T=0.25 its relative probability would be 0.0016
  const logits = new Float32Array([0, Math.log(0.2)]);
  const got = new Sampler({ minP: 0.1, temperature: 0.25, seed: 1 }).candidates(logits);
  assert.equal(got.length, 2);
  assert.ok(Math.abs(got[1]!.p - 0.2 ** 4 / (1 + 0.2 ** 4)) < 1e-6);
});

// --- top-k ---------------------------------------------------------------

test('top-k keeps the k largest, ties to the lower ids', () => {
  const logits = new Float32Array([1, 5, 3, 5, 2, 3, -Infinity, 4]);
  assert.deepEqual(ids(new Sampler({ topK: 3, seed: 1 }), logits), [1, 3, 7]);
  assert.deepEqual(ids(new Sampler({ topK: 4, seed: 1 }), logits), [1, 2, 3, 7]); // 2 beats 5 on the tie at 3
  assert.deepEqual(ids(new Sampler({ topK: 100, seed: 1 }), logits), [0, 1, 2, 3, 4, 5, 7]);
  const flat = new Float32Array(1000);
  assert.deepEqual(ids(new Sampler({ topK: 5, seed: 1 }), flat), [0, 1, 2, 3, 4]);
  // fewer finite tokens than k
  const banned = new Float32Array([-Infinity, 0, -Infinity, 1, -Infinity]);
  assert.deepEqual(ids(new Sampler({ topK: 4, seed: 1 }), banned), [1, 3]);
});

// --- everything against the brute-force reference, on realistic sizes ----

function llmLikeRow(vocab: number, seed: number): Float32Array {
  // a few strong tokens over a Gaussian-ish bulk, some exact ties, some bans
  const rng = new SeededRng(seed);
  const gauss = (): number => {
    const u = 1 - rng.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  };
  const row = new Float32Array(vocab).map(() => gauss() * 2.5);
  for (let i = 0; i < 20; i++) row[rng.nextU32() % vocab] = 9 + gauss();
  for (let i = 0; i < 500; i++) row[rng.nextU32() % vocab] = 4; // a big tie group
  for (let i = 0; i < 100; i++) row[rng.nextU32() % vocab] = -Infinity;
  return row;
}

test('filter chain matches the brute-force reference at V = 150k', () => {
  const row = llmLikeRow(150_000, 21);
  const configs: SamplerOptions[] = [
    {},
    { topP: 0.9 },
    { topP: 0.99 },
    { topP: 0.999999 },
    { topK: 40 },
    { topK: 2000, topP: 0.95 },
    { minP: 0.05 },
    { minP: 0.001 },
    { topP: 0.95, minP: 0.02, temperature: 0.7 },
    { topK: 40, topP: 0.9, minP: 0.05, temperature: 1.3 },
    { temperature: 3, topP: 0.5 },
  ];
  const sizes: number[] = [];
  for (const o of configs) sizes.push(assertMatchesReference(row, o, JSON.stringify(o)));
  // the configurations really cut at different places (the test is not vacuous)
  assert.ok(new Set(sizes).size >= 6, `kept sizes ${sizes}`);
});

test('top-p without top-k matches the reference on flat and peaked rows', () => {
  // flat: the answer is most of the vocabulary; peaked: a single token
  const flat = new Float32Array(50_000).map((_, i) => (i % 7) * 1e-3);
  const peaked = new Float32Array(50_000).fill(-10);
  peaked[31_337] = 20;
  // spans 100 nats, so every histogram bucket is used, the last one shared
  const wide = new Float32Array(10_000).map((_, i) => -i * 0.01);
  // (p much closer to 1 than 1e-5 asks for more than float64 sums can tell
  // apart: the reference and the sampler would disagree by rounding alone)
  for (const [name, row] of [['flat', flat], ['peaked', peaked], ['wide', wide]] as const) {
    for (const topP of [0.1, 0.5, 0.9, 0.999, 0.99999]) {
      assertMatchesReference(row, { topP }, `${name} topP ${topP}`);
    }
  }
});

test('draws with all filters on stay inside the reference set', () => {
  const row = llmLikeRow(32_000, 22);
  const o: SamplerOptions = { topK: 100, topP: 0.8, minP: 0.01, temperature: 0.9 };
  const allowed = reference(row, o);
  const s = new Sampler({ ...o, seed: 23 });
  const seen = new Set<number>();
  for (let i = 0; i < 3000; i++) {
    const t = s.sample(row);
    assert.ok(allowed.has(t), `drew token ${t} outside the filtered set`);
    seen.add(t);
  }
  // and the sampler actually explores it
  assert.ok(seen.size >= Math.min(allowed.size, 5), `saw ${seen.size} of ${allowed.size}`);
});

test('large top-k (histogram path) matches the reference, ties included', () => {
  const row = llmLikeRow(150_000, 24);
  let above = 0;
  for (const v of row) if (v > 4) above++;
  // cut inside the 500-token tie group at logit 4, and well past it
  for (const topK of [1024, 1025, above + 250, 50_000, 149_999]) {
    assertMatchesReference(row, { topK }, `topK ${topK}`);
    assertMatchesReference(row, { topK, topP: 0.9, minP: 0.001 }, `topK ${topK} + topP + minP`);
  }
  const flat = new Float32Array(5000);
  assert.deepEqual(ids(new Sampler({ topK: 2000, seed: 1 }), flat), [...Array(2000).keys()]);
});
