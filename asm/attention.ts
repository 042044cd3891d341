/**
 * Ops.attendHeads in one call: every query head of one token over runs of
 * cached keys/values, the steps of src/kernels/attention.ts (dotRows, the
 * ALiBi bias in f64, softmax, axpyRows) with the same kernels, so results
 * equal running them one by one.
 *
 * Why one call: decode used to pay a JS round trip per head and step (three
 * per head, 144 per layer-token on a 12-head model), and the gaps between
 * the heads' key streams kept the prefetchers cold: attention took 16% of a
 * 110M model's decode at 190 cached tokens. Heads are also what threads
 * split (exec.ts OP_ATTEND): each claims heads and uses its own scores.
 *
 * Runs are described by RUN_WORDS i32 words each at `runs`: keys and values
 * byte addresses (of kv head 0, row 0), headStride and rowStride in
 * elements, count, firstDistance.
 */
import { axpyRows, dotRows, softmax } from './vector';

export const RUN_WORDS: i32 = 6;

/** Query head h: out[h·d ..+d) from q[h·d ..+d); `scores` holds the runs' total keys. */
export function attendHead(out: usize, q: usize, h: i32, group: i32, d: i32, scale: f32, runs: usize, nRuns: i32, scores: usize, slopes: usize): void {
  const kvh = <usize>(h / group);
  const qh = q + (<usize>(h * d) << 2);
  let total = 0;
  for (let r = 0; r < nRuns; r++) {
    const p = runs + <usize>(r * RUN_WORDS) * 4;
    const count = load<i32>(p, 16);
    if (count == 0) continue;
    const keys = <usize>load<u32>(p) + ((kvh * <usize>load<i32>(p, 8)) << 2);
    const s = scores + (<usize>total << 2);
    dotRows(s, qh, keys, load<i32>(p, 12), count, d, scale);
    if (slopes != 0) {
      const slope = <f64>load<f32>(slopes + (<usize>h << 2));
      const fd = load<i32>(p, 20);
      for (let j = 0; j < count; j++) {
        const a = s + (<usize>j << 2);
        store<f32>(a, <f32>(<f64>load<f32>(a) - slope * <f64>(fd - j)));
      }
    }
    total += count;
  }
  softmax(scores, total);
  const oh = out + (<usize>(h * d) << 2);
  memory.fill(oh, 0, <usize>d << 2);
  total = 0;
  for (let r = 0; r < nRuns; r++) {
    const p = runs + <usize>(r * RUN_WORDS) * 4;
    const count = load<i32>(p, 16);
    if (count == 0) continue;
    const values = <usize>load<u32>(p, 4) + ((kvh * <usize>load<i32>(p, 8)) << 2);
    axpyRows(oh, scores + (<usize>total << 2), values, load<i32>(p, 12), count, d);
    total += count;
  }
}

/** All heads on the calling thread. */
export function attendHeads(out: usize, q: usize, nHeads: i32, kvHeads: i32, d: i32, scale: f32, runs: usize, nRuns: i32, scores: usize, slopes: usize): void {
  const group = nHeads / kvHeads;
  for (let h = 0; h < nHeads; h++) attendHead(out, q, h, group, d, scale, runs, nRuns, scores, slopes);
}
