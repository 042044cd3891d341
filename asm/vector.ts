/**
 * Row-wise and element-wise kernels: norms, softmax, activations, RoPE,
 * attention dot/axpy, and row dequantization (getRows).
 *
 * Changes against the scalar oracle:
 * - norm and softmax reductions accumulate in f64 lanes (as the oracle's JS
 *   numbers do); the per-element math is f32 with at most ~3 roundings.
 *   RMSNorm rounds exactly as the oracle (and ggml) do, step by step.
 * - exp is the 1-2 ulp lane polynomial of common.ts; gelu is computed as
 *   v·sigmoid(2u), which equals 0.5·v·(1 + tanh(u)) without the cancellation
 *   tanh has near 0.
 * - RoPE takes cos/sin tables computed by the caller in float64 (so angles at
 *   large positions stay exact) and rounded to f32 once.
 * - attention dot/axpy take 4 cached rows per pass in f32 lanes.
 * (getRows' row dequantization is in dequant.ts.)
 */
import { exp1, exp4, f32At, groupRow, groupWeight, hsum, hsumD, widenAdd } from './common';

/**
 * Sum of squares of x[0..d) as ggml's rms_norm takes it: each square
 * rounded to f32, the sum in f64.
 */
function sumSq(x: usize, d: i32): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= d; i += 4) {
    const v = v128.load(f32At(x, i));
    acc = widenAdd(acc, f32x4.mul(v, v));
  }
  let s = hsumD(acc);
  for (; i < d; i++) {
    const v = load<f32>(f32At(x, i));
    s += <f64>(v * v);
  }
  return s;
}

/**
 * RMSNorm rounded step by step as ggml's (ggml-cpu ops.cpp rms_norm, then
 * the weight multiply): mean = f32(sum/d), scale = 1/sqrtf(mean + eps) in
 * f32, y = (x·scale)·w. A scale one ulp off shifts every output, and
 * integer matmuls round those outputs to 8-bit codes: matching ggml here
 * keeps the codes, and so the logits, equal to llama.cpp's.
 */
export function rmsnorm(out: usize, x: usize, w: usize, d: i32, n: i32, eps: f64): void {
  for (let t = 0; t < n; t++) {
    const xo = x + (<usize>(t * d) << 2);
    const oo = out + (<usize>(t * d) << 2);
    const mean = <f32>(sumSq(xo, d) / d);
    const inv = <f32>1 / sqrt<f32>(mean + <f32>eps);
    const iv = f32x4.splat(inv);
    let i = 0;
    for (; i + 4 <= d; i += 4) {
      const o = <usize>i << 2;
      v128.store(oo + o, f32x4.mul(f32x4.mul(v128.load(xo + o), iv), v128.load(w + o)));
    }
    for (; i < d; i++) store<f32>(f32At(oo, i), load<f32>(f32At(xo, i)) * inv * load<f32>(f32At(w, i)));
  }
}

/** w and b are 0 when absent. */
export function layernorm(out: usize, x: usize, w: usize, b: usize, d: i32, n: i32, eps: f64): void {
  for (let t = 0; t < n; t++) {
    const xo = x + (<usize>(t * d) << 2);
    const oo = out + (<usize>(t * d) << 2);
    let acc = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= d; i += 4) acc = widenAdd(acc, v128.load(f32At(xo, i)));
    let sum = hsumD(acc);
    for (; i < d; i++) sum += <f64>load<f32>(f32At(xo, i));
    const mean = sum / d;
    let v: f64 = 0;
    for (i = 0; i < d; i++) {
      const e = <f64>load<f32>(f32At(xo, i)) - mean;
      v += e * e;
    }
    const inv = 1.0 / Math.sqrt(v / d + eps);
    for (i = 0; i < d; i++) {
      let y = <f32>((<f64>load<f32>(f32At(xo, i)) - mean) * inv);
      if (w != 0) y *= load<f32>(f32At(w, i));
      if (b != 0) y += load<f32>(f32At(b, i));
      store<f32>(f32At(oo, i), y);
    }
  }
}

export function softmax(x: usize, n: i32): void {
  if (n <= 0) return;
  let mv = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) mv = f32x4.pmax(mv, v128.load(f32At(x, i)));
  mv = f32x4.pmax(mv, v128.shuffle<f32>(mv, mv, 2, 3, 0, 1));
  let m = max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1));
  for (; i < n; i++) m = max(m, load<f32>(f32At(x, i)));
  if (m == -Infinity) {
    memory.fill(x, 0, <usize>n << 2);
    return;
  }
  const ms = f32x4.splat(m);
  let acc = f64x2.splat(0);
  for (i = 0; i + 4 <= n; i += 4) {
    const e = exp4(f32x4.sub(v128.load(f32At(x, i)), ms));
    v128.store(f32At(x, i), e);
    acc = widenAdd(acc, e);
  }
  let sum = hsumD(acc);
  for (; i < n; i++) {
    const e = exp1(load<f32>(f32At(x, i)) - m);
    store<f32>(f32At(x, i), e);
    sum += e;
  }
  const inv = <f32>(1.0 / sum);
  const iv = f32x4.splat(inv);
  for (i = 0; i + 4 <= n; i += 4) v128.store(f32At(x, i), f32x4.mul(v128.load(f32At(x, i)), iv));
  for (; i < n; i++) store<f32>(f32At(x, i), load<f32>(f32At(x, i)) * inv);
}

export function add(a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(f32At(a, i), f32x4.add(v128.load(f32At(a, i)), v128.load(f32At(b, i))));
  for (; i < n; i++) store<f32>(f32At(a, i), load<f32>(f32At(a, i)) + load<f32>(f32At(b, i)));
}

/** gate = gate·sigmoid(gate)·up. */
export function swiglu(gate: usize, up: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const g = v128.load(f32At(gate, i));
    const s = f32x4.div(g, f32x4.add(one, exp4(f32x4.neg(g))));
    v128.store(f32At(gate, i), f32x4.mul(s, v128.load(f32At(up, i))));
  }
  for (; i < n; i++) {
    const g = load<f32>(f32At(gate, i));
    store<f32>(f32At(gate, i), (g / (1 + exp1(-g))) * load<f32>(f32At(up, i)));
  }
}

/** x = x·sigmoid(2u), u = sqrt(2/π)·x·(1 + 0.044715x²): ggml's tanh-form GELU. */
export function gelu(x: usize, n: i32): void {
  const k2 = <f32>(2.0 * Math.sqrt(2.0 / Math.PI));
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(f32At(x, i));
    const u2 = f32x4.mul(f32x4.mul(v, f32x4.splat(-k2)), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(0.044715), f32x4.mul(v, v))));
    v128.store(f32At(x, i), f32x4.div(v, f32x4.add(f32x4.splat(1), exp4(u2))));
  }
  for (; i < n; i++) {
    const v = load<f32>(f32At(x, i));
    store<f32>(f32At(x, i), v / (1 + exp1(-k2 * v * (1 + <f32>0.044715 * v * v))));
  }
}

/**
 * Adjacent-pair RoPE on nHeads heads at x: cs holds, per rotated dimension,
 * cos duplicated over each pair, and sn holds (-sin, +sin) per pair, so
 * y = x·cs + swap_pairs(x)·sn.
 */
export function ropeAdjacent(x: usize, nHeads: i32, headDim: i32, dims: i32, cs: usize, sn: usize): void {
  for (let h = 0; h < nHeads; h++) {
    const p = x + (<usize>(h * headDim) << 2);
    let i = 0;
    for (; i + 4 <= dims; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(p + o);
      const sw = v128.shuffle<f32>(v, v, 1, 0, 3, 2);
      v128.store(p + o, f32x4.add(f32x4.mul(v, v128.load(cs + o)), f32x4.mul(sw, v128.load(sn + o))));
    }
    for (; i < dims; i += 2) {
      const x0 = load<f32>(f32At(p, i)), x1 = load<f32>(f32At(p, i + 1));
      const c = load<f32>(f32At(cs, i)), s = load<f32>(f32At(sn, i + 1));
      store<f32>(f32At(p, i), x0 * c - x1 * s);
      store<f32>(f32At(p, i + 1), x0 * s + x1 * c);
    }
  }
}

/**
 * RoPE over n consecutive tokens (rows of nHeads·headDim floats); token t's
 * cos table at tables + t·dims·8 bytes, its sin table right after.
 */
export function ropeTokens(adjacent: bool, x: usize, n: i32, nHeads: i32, headDim: i32, dims: i32, tables: usize): void {
  const row = <usize>(nHeads * headDim) << 2;
  const tb = <usize>dims << 3;
  for (let t = 0; t < n; t++) {
    const cs = tables + <usize>t * tb;
    const sn = cs + (<usize>dims << 2);
    if (adjacent) ropeAdjacent(x + <usize>t * row, nHeads, headDim, dims, cs, sn);
    else ropeHalves(x + <usize>t * row, nHeads, headDim, dims, cs, sn);
  }
}

/** Halves RoPE: pairs (i, i + dims/2); cs/sn hold cos/sin per pair. */
export function ropeHalves(x: usize, nHeads: i32, headDim: i32, dims: i32, cs: usize, sn: usize): void {
  const half2 = dims >> 1;
  for (let h = 0; h < nHeads; h++) {
    const p = x + (<usize>(h * headDim) << 2);
    const q = p + (<usize>half2 << 2);
    let i = 0;
    for (; i + 4 <= half2; i += 4) {
      const o = <usize>i << 2;
      const a = v128.load(p + o), b = v128.load(q + o);
      const c = v128.load(cs + o), s = v128.load(sn + o);
      v128.store(p + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
      v128.store(q + o, f32x4.add(f32x4.mul(a, s), f32x4.mul(b, c)));
    }
    for (; i < half2; i++) {
      const a = load<f32>(f32At(p, i)), b = load<f32>(f32At(q, i));
      const c = load<f32>(f32At(cs, i)), s = load<f32>(f32At(sn, i));
      store<f32>(f32At(p, i), a * c - b * s);
      store<f32>(f32At(q, i), a * s + b * c);
    }
  }
}

/**
 * scores[j .. j + 4) (only j < count stored) = scale·q·keys[j·stride ..+d):
 * one group of dotRows, shared with attention.ts so both compute the same bits.
 */
@inline export function dotGroup(scores: usize, q: usize, keys: usize, sb: usize, j: i32, count: i32, d: i32, scale: f32): void {
  const k0 = keys + <usize>j * sb;
  const k1 = groupRow(k0, sb, j, 1, count);
  const k2 = groupRow(k0, sb, j, 2, count);
  const k3 = groupRow(k0, sb, j, 3, count);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= d; i += 4) {
    const o = <usize>i << 2;
    const qv = v128.load(q + o);
    a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k0 + o)));
    a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k1 + o)));
    a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k2 + o)));
    a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k3 + o)));
  }
  let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  for (; i < d; i++) {
    const qv = load<f32>(f32At(q, i));
    s0 += qv * load<f32>(f32At(k0, i));
    s1 += qv * load<f32>(f32At(k1, i));
    s2 += qv * load<f32>(f32At(k2, i));
    s3 += qv * load<f32>(f32At(k3, i));
  }
  store<f32>(f32At(scores, j), s0 * scale);
  if (j + 1 < count) store<f32>(f32At(scores, j + 1), s1 * scale);
  if (j + 2 < count) store<f32>(f32At(scores, j + 2), s2 * scale);
  if (j + 3 < count) store<f32>(f32At(scores, j + 3), s3 * scale);
}

/** scores[j] = scale·q·keys[j·stride ..+d) for j < count (stride in elements). */
export function dotRows(scores: usize, q: usize, keys: usize, stride: i32, count: i32, d: i32, scale: f32): void {
  const sb = <usize>stride << 2;
  for (let j = 0; j < count; j += 4) dotGroup(scores, q, keys, sb, j, count, d, scale);
}

/** out[0..d) += w[j..j+4)·values rows j..j+3 (rows past count weigh 0): one group of axpyRows. */
@inline export function axpyGroup(out: usize, w: usize, values: usize, sb: usize, j: i32, count: i32, d: i32): void {
  // Missing rows of the last group get weight 0 on an aliased (valid) row.
  const v0 = values + <usize>j * sb;
  const v1 = groupRow(v0, sb, j, 1, count);
  const v2 = groupRow(v0, sb, j, 2, count);
  const v3 = groupRow(v0, sb, j, 3, count);
  const c0 = load<f32>(f32At(w, j));
  const c1 = groupWeight(w, j, 1, count);
  const c2 = groupWeight(w, j, 2, count);
  const c3 = groupWeight(w, j, 3, count);
  const w0 = f32x4.splat(c0), w1 = f32x4.splat(c1), w2 = f32x4.splat(c2), w3 = f32x4.splat(c3);
  let i = 0;
  for (; i + 4 <= d; i += 4) {
    const o = <usize>i << 2;
    let acc = v128.load(out + o);
    acc = f32x4.add(acc, f32x4.mul(w0, v128.load(v0 + o)));
    acc = f32x4.add(acc, f32x4.mul(w1, v128.load(v1 + o)));
    acc = f32x4.add(acc, f32x4.mul(w2, v128.load(v2 + o)));
    acc = f32x4.add(acc, f32x4.mul(w3, v128.load(v3 + o)));
    v128.store(out + o, acc);
  }
  for (; i < d; i++) {
    let a = load<f32>(f32At(out, i));
    a += c0 * load<f32>(f32At(v0, i));
    a += c1 * load<f32>(f32At(v1, i));
    a += c2 * load<f32>(f32At(v2, i));
    a += c3 * load<f32>(f32At(v3, i));
    store<f32>(f32At(out, i), a);
  }
}

/** out[0..d) += sum_j w[j]·values[j·stride ..+d). */
export function axpyRows(out: usize, w: usize, values: usize, stride: i32, count: i32, d: i32): void {
  const sb = <usize>stride << 2;
  for (let j = 0; j < count; j += 4) axpyGroup(out, w, values, sb, j, count, d);
}
