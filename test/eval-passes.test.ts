/** src/eval/passes.ts: the pass-count rule both benchmark sides share, and its median. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUTO_PASS_SECONDS, MAX_AUTO_PASSES, median, morePasses } from '../src/eval/passes.js';

test('morePasses: an explicit count is exact; otherwise at least one pass, then until ~1 s or the cap', () => {
  assert.equal(morePasses(0, 0, 3), true);
  assert.equal(morePasses(2, 99, 3), true, 'a fixed count ignores time');
  assert.equal(morePasses(3, 0, 3), false);
  assert.equal(morePasses(0, 0), true);
  assert.equal(morePasses(0, 1e9), true, 'the first pass always runs');
  assert.equal(morePasses(1, 5), false, 'one slow pass is enough');
  assert.equal(morePasses(1, AUTO_PASS_SECONDS / 10), true);
  assert.equal(morePasses(MAX_AUTO_PASSES, 0), false, 'capped');
  let n = 0;
  while (morePasses(n, n * 0.3)) n++;
  assert.equal(n, Math.ceil(AUTO_PASS_SECONDS / 0.3));
});

test('median: odd, even, unsorted, empty; the input is left as it was', () => {
  const xs = [5, 1, 3];
  assert.equal(median(xs), 3);
  assert.deepEqual(xs, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
});
