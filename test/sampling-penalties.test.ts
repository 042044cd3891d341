import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, applyPenalties } from '../src/sampling/index.js';
import { StreamLlmError } from '../src/errors.js';

/** The specification, written independently: float64 then one f32 rounding. */
function expected(
  logits: number[],
  history: number[],
  o: { repeat?: number; freq?: number; presence?: number; lastN?: number },
): number[] {
  const repeat = o.repeat ?? 1;
  const freq = o.freq ?? 0;
  const presence = o.presence ?? 0;
  const lastN = o.lastN ?? 64;
  const window = lastN === -1 ? history : lastN === 0 ? [] : history.slice(-lastN);
  const count = new Map<number, number>();
  for (const t of window) count.set(t, (count.get(t) ?? 0) + 1);
  return logits.map((raw, t) => {
    const l = Math.fround(raw);
    const c = count.get(t) ?? 0;
    if (c === 0) return l;
    const r = l > 0 ? l / repeat : l * repeat;
    return Math.fround(r - (c * freq + (c > 0 ? presence : 0)));
  });
}

const LOGITS = [2.5, -1.25, 0, 3, -4, 0.75, 1e-3, -Infinity];

test('repeat penalty divides positive logits and multiplies negative ones', () => {
  const history = [0, 1, 2, 1, 7];
  const got = applyPenalties(new Float32Array(LOGITS), history, { repeatPenalty: 1.3 });
  assert.deepEqual([...got], expected(LOGITS, history, { repeat: 1.3 }));
  assert.equal(got[0], Math.fround(2.5 / 1.3)); // positive: divided
  assert.equal(got[1], Math.fround(-1.25 * 1.3)); // negative: multiplied
  assert.equal(got[2], 0); // zero stays zero
  assert.equal(got[7], -Infinity); // banned stays banned
  assert.equal(got[3], 3); // not in history: untouched
});

test('repeat penalty < 1 boosts repeats', () => {
  const got = applyPenalties(new Float32Array([2, -2]), [0, 1], { repeatPenalty: 0.5 });
  assert.deepEqual([...got], [4, -1]);
});

test('repeat penalty is per distinct token, not per occurrence', () => {
  const got = applyPenalties(new Float32Array([4]), [0, 0, 0], { repeatPenalty: 2 });
  assert.deepEqual([...got], [2]);
});

test('frequency and presence penalties follow the OpenAI formula', () => {
  const history = [3, 3, 3, 0, 5, 5];
  const o = { frequencyPenalty: 0.4, presencePenalty: 0.7 };
  const got = applyPenalties(new Float32Array(LOGITS), history, o);
  assert.deepEqual([...got], expected(LOGITS, history, { freq: 0.4, presence: 0.7 }));
  assert.equal(got[3], Math.fround(3 - (3 * 0.4 + 0.7)));
  assert.equal(got[0], Math.fround(2.5 - (0.4 + 0.7)));
  assert.equal(got[5], Math.fround(Math.fround(0.75) - (2 * 0.4 + 0.7)));
  // negative penalties encourage
  const enc = applyPenalties(new Float32Array([1]), [0, 0], { frequencyPenalty: -0.5 });
  assert.deepEqual([...enc], [2]);
});

test('all three penalties combine: repeat first, then frequency/presence', () => {
  const history = [0, 1, 1, 4, 4, 4, 6];
  const o = { repeatPenalty: 1.1, frequencyPenalty: 0.2, presencePenalty: 0.3 };
  const got = applyPenalties(new Float32Array(LOGITS), history, o);
  assert.deepEqual([...got], expected(LOGITS, history, { repeat: 1.1, freq: 0.2, presence: 0.3 }));
  assert.equal(got[4], Math.fround(-4 * 1.1 - (3 * 0.2 + 0.3)));
});

test('penaltyLastN limits the window; -1 is the whole history; 0 disables', () => {
  const history = [0, 0, 1, 2, 3];
  const o = { frequencyPenalty: 1, presencePenalty: 0 };
  const last2 = applyPenalties(new Float32Array(LOGITS), history, { ...o, penaltyLastN: 2 });
  assert.deepEqual([...last2], expected(LOGITS, history, { freq: 1, lastN: 2 }));
  assert.equal(last2[0], 2.5); // outside the window
  assert.equal(last2[2], -1); // inside
  const all = applyPenalties(new Float32Array(LOGITS), history, { ...o, penaltyLastN: -1 });
  assert.equal(all[0], 0.5);
  const none = applyPenalties(new Float32Array(LOGITS), history, { ...o, penaltyLastN: 0 });
  assert.deepEqual([...none], [...new Float32Array(LOGITS)]);
  // window longer than the history: everything counts
  const long = applyPenalties(new Float32Array(LOGITS), history, { ...o, penaltyLastN: 1000 });
  assert.equal(long[0], 0.5);
});

test('default penaltyLastN is 64', () => {
  const history = [0, ...new Array(64).fill(1)];
  const got = applyPenalties(new Float32Array([1, 1]), history, { presencePenalty: 1 });
  assert.deepEqual([...got], [1, 0]); // token 0 is 65 back
});

test('applyPenalties is pure and accepts plain arrays', () => {
  const logits = new Float32Array(LOGITS);
  const copy = logits.slice();
  const out = applyPenalties(logits, [0, 1], { repeatPenalty: 2 });
  assert.notEqual(out, logits);
  assert.deepEqual(logits, copy);
  assert.deepEqual([...applyPenalties([1, 2], [1], { presencePenalty: 1 })], [1, 1]);
  assert.deepEqual([...applyPenalties([1, 2], [])], [1, 2]);
});

test('history entries must be token ids of this vocabulary', () => {
  for (const bad of [2, -1, 0.5, NaN]) {
    assert.throws(
      () => applyPenalties(new Float32Array([1, 2]), [0, bad], { repeatPenalty: 1.2 }),
      (e: unknown) => e instanceof StreamLlmError && e.code === 'BAD_ARGUMENT' && /history\[1\]/.test(e.message),
    );
  }
});

test('Sampler applies the same penalties (visible through greedy)', () => {
  // 5 / 1.1 = 4.545 < 4.9, so the penalty flips the greedy choice
  const logits = new Float32Array([5, 4.9]);
  assert.equal(new Sampler({ temperature: 0 }).sample(logits, [0]), 0);
  const s = new Sampler({ temperature: 0, repeatPenalty: 1.1 });
  assert.equal(s.sample(logits, [0]), 1);
  // counts are reset between calls: no history means no penalty
  assert.equal(s.sample(logits, []), 0);
  assert.equal(s.sample(logits, [1, 1]), 0);
});

test('Sampler candidates reflect the penalized logits exactly', () => {
  const history = [0, 2, 2];
  const o = { repeatPenalty: 1.5, frequencyPenalty: 0.1, presencePenalty: 0.2 };
  const logits = new Float32Array([1, 0.5, 2, -0.5]);
  const pen = applyPenalties(logits, history, o);
  const probs = new Sampler({ ...o, seed: 1 }).candidates(logits, history);
  const z = [...pen].reduce((s, l) => s + Math.exp(l), 0);
  for (const { id, p } of probs) assert.ok(Math.abs(p - Math.exp(pen[id]!) / z) < 1e-12, `token ${id}`);
});

test('a bad history entry leaves the Sampler usable', () => {
  const s = new Sampler({ temperature: 0, frequencyPenalty: 10 });
  const logits = new Float32Array([3, 2, 1]);
  assert.throws(() => s.sample(logits, [0, 0, 9]), { code: 'BAD_ARGUMENT' });
  // stale counts for token 0 would wrongly penalize it here
  assert.equal(s.sample(logits, [2]), 0);
});

test('history is ignored (not even validated) when no penalty is active', () => {
  assert.equal(new Sampler({ temperature: 0 }).sample(new Float32Array([0, 1]), [99, -3]), 1);
});

test('penalties that overflow to a non-finite logit are reported', () => {
  const s = new Sampler({ temperature: 0, frequencyPenalty: -1e308 });
  assert.throws(() => s.sample(new Float32Array([0, 1]), [0, 0]), /penalties/);
});
