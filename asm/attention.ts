/**
 * Ops.attendHeads in one call: every query head of one token over runs of
 * cached keys/values, the steps of src/kernels/attention.ts (dotRows, the
 * ALiBi bias in f64, softmax, axpyRows) with the same kernels, so results
 * equal running them one by one.
 *
 * Why one call, rows outermost: the cache is read from DRAM every token (the
 * weights streamed in between evict it), and reading it head by head, one
 * call per head and step, ran at ~10 GB/s: attention took 16% of a 110M
 * model's decode at 190 cached tokens. Threads split the heads (exec.ts
 * OP_ATTEND): each claims a range of heads and uses its own scores.
 *
 * Runs are described by RUN_WORDS i32 words each at `runs`: keys and values
 * byte addresses (of kv head 0, row 0), headStride and rowStride in
 * elements, count, firstDistance, and the element type (RUN_F32 or RUN_F16:
 * one attention can mix them, e.g. a 16-bit cache and the f32 batch).
 */
import { axpyGroupH, dotGroupH, foldable, loadF16 } from './half-kv';
import { axpyGroup, dotGroup, softmax } from './vector';

export const RUN_WORDS: i32 = 7;
const RUN_F16: i32 = 1;

/**
 * Query heads [h0, h1): out[h·d ..+d) from q[h·d ..+d). Rows are the outer
 * loop: each group of 4 key (value) rows is read once and, while it sits in
 * L1, serves every head, so the cache is streamed front to back (with the
 * cache's token-major layout, one sequential pass per layer). Head h's
 * scores live at scores + (h - h0)·hs bytes and must hold the runs' total;
 * one more slot of hs ≥ 16·d bytes after them is scratch.
 */
export function attendRange(out: usize, q: usize, h0: i32, h1: i32, group: i32, d: i32, scale: f32, runs: usize, nRuns: i32, scores: usize, hs: usize, slopes: usize): void {
  const qs = <usize>d << 2;
  // Room for 4 widened rows, in the score slot after the last head's (see hs in src/kernels/wasm/attention.ts).
  const conv = scores + <usize>(h1 - h0) * hs;
  // One check for all the heads' queries (half-kv.ts FOLD_LIMIT); false only for queries ≥ 2^16.
  const folded = foldable(q + <usize>h0 * qs, (h1 - h0) * d);
  let total = 0;
  for (let r = 0; r < nRuns; r++) {
    const p = runs + <usize>(r * RUN_WORDS) * 4;
    const count = load<i32>(p, 16);
    if (count == 0) continue;
    const keys = <usize>load<u32>(p);
    const f16 = load<i32>(p, 24) == RUN_F16;
    const es: usize = f16 ? 1 : 2; // log2 of the element size
    const hb = <usize>load<i32>(p, 8) << es;
    const sb = <usize>load<i32>(p, 12) << es;
    const tb = <usize>total << 2;
    if (f16 && group > 1) {
      // Grouped-query heads share rows: widen each kv head's 4 rows once (exactly) for its group, not once per head.
      for (let j = 0; j < count; j += 4) {
        const n4 = min(4, count - j);
        for (let g = h0 / group; g * group < h1; g++) {
          widen4(conv, keys + <usize>g * hb, sb, j, n4, d);
          for (let h = max(h0, g * group); h < min(h1, (g + 1) * group); h++) {
            dotGroup(scores + <usize>(h - h0) * hs + tb + (<usize>j << 2), q + <usize>h * qs, conv, <usize>d << 2, 0, n4, d, scale);
          }
        }
      }
    } else if (f16) {
      for (let j = 0; j < count; j += 4) {
        for (let h = h0; h < h1; h++) {
          dotGroupH(scores + <usize>(h - h0) * hs + tb, q + <usize>h * qs, keys + <usize>(h / group) * hb, sb, j, count, d, scale, folded);
        }
      }
    } else {
      for (let j = 0; j < count; j += 4) {
        for (let h = h0; h < h1; h++) {
          dotGroup(scores + <usize>(h - h0) * hs + tb, q + <usize>h * qs, keys + <usize>(h / group) * hb, sb, j, count, d, scale);
        }
      }
    }
    if (slopes != 0) {
      const fd = load<i32>(p, 20);
      for (let h = h0; h < h1; h++) {
        // In float64, rounded once to f32, as src/kernels/attention.ts does.
        const slope = <f64>load<f32>(slopes + (<usize>h << 2));
        const s = scores + <usize>(h - h0) * hs + tb;
        for (let j = 0; j < count; j++) {
          const a = s + (<usize>j << 2);
          store<f32>(a, <f32>(<f64>load<f32>(a) - slope * <f64>(fd - j)));
        }
      }
    }
    total += count;
  }
  for (let h = h0; h < h1; h++) {
    softmax(scores + <usize>(h - h0) * hs, total);
    memory.fill(out + <usize>h * qs, 0, qs);
  }
  total = 0;
  for (let r = 0; r < nRuns; r++) {
    const p = runs + <usize>(r * RUN_WORDS) * 4;
    const count = load<i32>(p, 16);
    if (count == 0) continue;
    const values = <usize>load<u32>(p, 4);
    const f16 = load<i32>(p, 24) == RUN_F16;
    const es: usize = f16 ? 1 : 2;
    const hb = <usize>load<i32>(p, 8) << es;
    const sb = <usize>load<i32>(p, 12) << es;
    const tb = <usize>total << 2;
    if (f16 && group > 1) {
      for (let j = 0; j < count; j += 4) {
        const n4 = min(4, count - j);
        for (let g = h0 / group; g * group < h1; g++) {
          widen4(conv, values + <usize>g * hb, sb, j, n4, d);
          for (let h = max(h0, g * group); h < min(h1, (g + 1) * group); h++) {
            axpyGroup(out + <usize>h * qs, scores + <usize>(h - h0) * hs + tb + (<usize>j << 2), conv, <usize>d << 2, 0, n4, d);
          }
        }
      }
    } else if (f16) {
      for (let j = 0; j < count; j += 4) {
        for (let h = h0; h < h1; h++) {
          axpyGroupH(out + <usize>h * qs, scores + <usize>(h - h0) * hs + tb, values + <usize>(h / group) * hb, sb, j, count, d);
        }
      }
    } else {
      for (let j = 0; j < count; j += 4) {
        for (let h = h0; h < h1; h++) {
          axpyGroup(out + <usize>h * qs, scores + <usize>(h - h0) * hs + tb, values + <usize>(h / group) * hb, sb, j, count, d);
        }
      }
    }
    total += count;
  }
}

/** Rows j .. j+n4-1 (n4 ≤ 4) of f16 storage (row stride sb bytes) as f32 at dst, d floats each. */
@inline function widen4(dst: usize, src: usize, sb: usize, j: i32, n4: i32, d: i32): void {
  for (let r = 0; r < n4; r++) loadF16(dst + (<usize>(r * d) << 2), src + <usize>(j + r) * sb, d);
}

/** All heads on the calling thread. */
export function attendHeads(out: usize, q: usize, nHeads: i32, kvHeads: i32, d: i32, scale: f32, runs: usize, nRuns: i32, scores: usize, hs: usize, slopes: usize): void {
  attendRange(out, q, 0, nHeads, nHeads / kvHeads, d, scale, runs, nRuns, scores, hs, slopes);
}
