/**
 * Matmul dispatch, and the task loop every thread (the main thread and each
 * worker) runs on a shared control block.
 *
 * Control block (i32 words at `ctl`), written by src/kernels/wasm/pool.ts:
 *   GEN, PENDING, NEXT, DONE ... synchronisation (see pool.ts)
 *   OP and the matmul arguments from ARGS on.
 * Work is handed out in chunks of rows claimed with an atomic counter, so a
 * thread that was descheduled on a busy machine simply takes fewer chunks.
 */
import { attendRange, RUN_WORDS } from './attention';
import { T_BF16, T_F16, T_F32, T_Q4_0, T_Q4_K, T_Q6_K, T_Q8_0 } from './common';
import { mmF32, mmPanel, mvF32, mvHalf, panelBytes } from './float';
import { mvQ4K, mvQ6K } from './kquant';
import { igemm, igemmPanelBytes } from './igemm';
import { mvPacked, PACKED, packedRows } from './packed';
import { mvQ4_0, mvQ8_0 } from './quant';
import { swiglu } from './vector';

/**
 * out (n, rows) = x (n, cols) · W^T for rows [r0, r1) (r0 a multiple of 8).
 * kernelType is the ggml type, with PACKED if the matrix is in packed.ts's
 * row-interleaved layout. Matvecs (n = 1) of
 * integer types read the activations quantized by quantizeAct (xq, xd, xs;
 * Q8_0 grid for Q8_0/Q4_0, Q8_K grid for Q4_K/Q6_K) when xq != 0, else run
 * the f32 panels on x like prefill; everything else reads x (f32; for
 * prefill on quantized activations the caller passes them through
 * dequantAct first). `scratch` is this thread's panel (scratchBytes(cols)
 * bytes).
 */
export function matmulRange(
  kernelType: i32, out: usize, w: usize, x: usize, xq: usize, xd: usize, xs: usize,
  rows: i32, cols: i32, n: i32, r0: i32, r1: i32, rowBytes: i32, scratch: usize,
): void {
  const type = kernelType & 0xff;
  const integer = type == T_Q8_0 || type == T_Q4_0 || type == T_Q4_K || type == T_Q6_K;
  const panels = n > 1 || (integer && xq == 0);
  const isPacked = (kernelType & PACKED) != 0;
  if (n > 1 && xq != 0 && (type == T_Q8_0 || type == T_Q4_0)) {
    // Prefill on quantized activations: the integer tile (igemm.ts).
    igemm(type, out, w, xq, xd, xs, rows, cols, n, r0, r1, rowBytes, isPacked ? packedRows(type, rows, cols) : 0, scratch);
    return;
  }
  if (isPacked) {
    // Whole groups are packed (asm/packed.ts); rows past the last one are plain.
    const full = packedRows(type, rows, cols);
    if (panels) {
      mmPanel(type, out, w, x, rows, cols, n, r0, r1, rowBytes, scratch, full);
      return;
    }
    const split = min(r1, full);
    if (r0 < split) mvPacked(type, out, w, x, xq, xd, xs, cols, r0, split, scratch);
    if (split >= r1) return;
    r0 = max(r0, split);
  } else if (panels) {
    // Prefill, or a matvec on f32 activations (q8Activations 'never'): f32 panels.
    if (type == T_F32) mmF32(out, w, x, rows, cols, n, r0, r1);
    else mmPanel(type, out, w, x, rows, cols, n, r0, r1, rowBytes, scratch, 0);
    return;
  }
  if (type == T_F32) {
    mvF32(out, w, x, cols, r0, r1);
  } else if (type == T_F16) {
    mvHalf(out, w, x, cols, r0, r1, false);
  } else if (type == T_BF16) {
    mvHalf(out, w, x, cols, r0, r1, true);
  } else if (type == T_Q8_0) {
    mvQ8_0(out, w, xq, xd, cols, r0, r1);
  } else if (type == T_Q4_0) {
    mvQ4_0(out, w, xq, xd, xs, cols, r0, r1);
  } else if (type == T_Q4_K) {
    mvQ4K(out, w, xq, xd, xs, cols, r0, r1);
  } else if (type == T_Q6_K) {
    mvQ6K(out, w, xq, xd, xs, cols, r0, r1);
  } else {
    unreachable();
  }
}

/** Scratch bytes one thread needs for a matmul of `cols`. */
export function scratchBytes(cols: i32): i32 {
  return max(panelBytes(cols), igemmPanelBytes(cols));
}

// Control block word indexes (keep in sync with src/kernels/wasm/pool.ts).
const NEXT: usize = 2;
const DONE: usize = 3;
const STOP: usize = 6;
const OP: usize = 8;
const A: usize = 9; // first argument word

export const OP_MATMUL: i32 = 1;
/** attention.ts attendRange for chunks of heads claimed one at a time; each thread has its own scores. */
export const OP_ATTEND: i32 = 2;
/** vector.ts swiglu over chunks of elements claimed one at a time: args gate, up, n, chunk. */
export const OP_SWIGLU: i32 = 3;
/** Test hooks: a worker traps, or never finishes (until STOP is set). */
export const OP_TRAP: i32 = 100;
export const OP_HANG: i32 = 101;

@inline function word(ctl: usize, i: usize): i32 {
  return load<i32>(ctl + (i << 2));
}

/** Run this thread's share of the task described at ctl; returns the chunks it did. */
export function exec(ctl: usize, tid: i32): i32 {
  const op = word(ctl, OP);
  if (op == OP_TRAP) {
    if (tid != 0) unreachable();
    return 0;
  }
  if (op == OP_HANG) {
    if (tid != 0) while (atomic.load<i32>(ctl + (STOP << 2)) == 0) {}
    return 0;
  }
  if (op == OP_ATTEND) return execAttend(ctl, tid);
  if (op == OP_SWIGLU) return execSwiglu(ctl);
  if (op != OP_MATMUL) unreachable();
  const type = word(ctl, A);
  const out = <usize>word(ctl, A + 1);
  const w = <usize>word(ctl, A + 2);
  const x = <usize>word(ctl, A + 3);
  const xq = <usize>word(ctl, A + 4);
  const xd = <usize>word(ctl, A + 5);
  const xs = <usize>word(ctl, A + 6);
  const rows = word(ctl, A + 7);
  const cols = word(ctl, A + 8);
  const n = word(ctl, A + 9);
  const rowBytes = word(ctl, A + 10);
  const scratch = <usize>word(ctl, A + 11) + <usize>tid * <usize>word(ctl, A + 12);
  const chunkRows = word(ctl, A + 13);
  const chunks = word(ctl, A + 14);
  let mine = 0;
  for (;;) {
    const c = atomic.add<i32>(ctl + (NEXT << 2), 1);
    if (c >= chunks) break;
    const r0 = c * chunkRows;
    const r1 = min(rows, r0 + chunkRows);
    matmulRange(type, out, w, x, xq, xd, xs, rows, cols, n, r0, r1, rowBytes, scratch);
    atomic.add<i32>(ctl + (DONE << 2), 1);
    mine++;
  }
  return mine;
}

/** OP_SWIGLU: element-wise, so any split gives the same values as one call. */
function execSwiglu(ctl: usize): i32 {
  const gate = <usize>word(ctl, A);
  const up = <usize>word(ctl, A + 1);
  const n = word(ctl, A + 2);
  const chunk = word(ctl, A + 3);
  let mine = 0;
  for (;;) {
    const i0 = atomic.add<i32>(ctl + (NEXT << 2), 1) * chunk;
    if (i0 >= n) break;
    swiglu(gate + (<usize>i0 << 2), up + (<usize>i0 << 2), min(chunk, n - i0));
    atomic.add<i32>(ctl + (DONE << 2), 1);
    mine++;
  }
  return mine;
}

/**
 * OP_ATTEND arguments: out, q, nHeads, group, d, scale (f32 bits), runs,
 * nRuns, scores, hs, slopes, chunkHeads, tokens. One token: threads claim
 * chunks of heads. Several (a prefill, Ops.attendBatch): threads claim
 * whole tokens (all heads; token t's query, output and nRuns run
 * descriptors follow token t - 1's), so each keeps its rows in its own cache.
 */
function execAttend(ctl: usize, tid: i32): i32 {
  const tokens = word(ctl, A + 12);
  if (tokens > 1) return execAttendTokens(ctl, tid, tokens);
  const out = <usize>word(ctl, A);
  const q = <usize>word(ctl, A + 1);
  const nHeads = word(ctl, A + 2);
  const group = word(ctl, A + 3);
  const d = word(ctl, A + 4);
  const scale = reinterpret<f32>(word(ctl, A + 5));
  const runs = <usize>word(ctl, A + 6);
  const nRuns = word(ctl, A + 7);
  const hs = <usize>word(ctl, A + 9);
  const slopes = <usize>word(ctl, A + 10);
  const chunk = word(ctl, A + 11);
  // Each thread's scores: chunk heads plus attendRange's scratch slot.
  const scores = <usize>word(ctl, A + 8) + <usize>tid * <usize>(chunk + 1) * hs;
  let mine = 0;
  for (;;) {
    const c = atomic.add<i32>(ctl + (NEXT << 2), 1);
    const h0 = c * chunk;
    if (h0 >= nHeads) break;
    attendRange(out, q, h0, min(nHeads, h0 + chunk), group, d, scale, runs, nRuns, scores, hs, slopes);
    atomic.add<i32>(ctl + (DONE << 2), 1);
    mine++;
  }
  return mine;
}

function execAttendTokens(ctl: usize, tid: i32, tokens: i32): i32 {
  const nHeads = word(ctl, A + 2);
  const d = word(ctl, A + 4);
  const nRuns = word(ctl, A + 7);
  const hs = <usize>word(ctl, A + 9);
  const scores = <usize>word(ctl, A + 8) + <usize>tid * <usize>(nHeads + 1) * hs;
  const tokenBytes = <usize>(nHeads * d) << 2;
  const runBytes = <usize>(nRuns * RUN_WORDS) << 2;
  let mine = 0;
  for (;;) {
    const t = atomic.add<i32>(ctl + (NEXT << 2), 1);
    if (t >= tokens) break;
    const out = <usize>word(ctl, A) + <usize>t * tokenBytes;
    const q = <usize>word(ctl, A + 1) + <usize>t * tokenBytes;
    const runs = <usize>word(ctl, A + 6) + <usize>t * runBytes;
    attendRange(out, q, 0, nHeads, word(ctl, A + 3), d, reinterpret<f32>(word(ctl, A + 5)), runs, nRuns, scores, hs, <usize>word(ctl, A + 10));
    atomic.add<i32>(ctl + (DONE << 2), 1);
    mine++;
  }
  return mine;
}
