/**
 * Llama (and llama2.c, TinyLlama, Mistral-style) decoder:
 *   x = embed(tokens)
 *   per layer:  x += Wo · attn(rope(Wq·rms(x)), rope(Wk·rms(x)), Wv·rms(x))
 *               x += W2 · (silu(W1·rms(x)) * W3·rms(x))
 *   logits = Wout · rms(x)        (Wout tied to the embedding when absent)
 * RoPE and the choice of visible tokens belong to the cache policy (see cache/types.ts).
 */
import type { CacheGeometry, KvCache } from '../cache/types.js';
import { StreamLlmError } from '../errors.js';
import { ropeSpec } from '../kernels/rope.js';
import type { Ops, WeightMatrix } from '../kernels/types.js';
import type { ArchModule, ForwardOptions, Hparams, LoadedWeights, Model, TensorSpec } from './types.js';

interface LayerWeights {
  readonly attnNorm: Float32Array;
  readonly wq: WeightMatrix;
  readonly wk: WeightMatrix;
  readonly wv: WeightMatrix;
  readonly wo: WeightMatrix;
  readonly ffnNorm: Float32Array;
  readonly gate: WeightMatrix; // W1
  readonly up: WeightMatrix; // W3
  readonly down: WeightMatrix; // W2
}

function tensorSpecs(hp: Hparams): TensorSpec[] {
  const { dim, vocabSize, nHeads, kvHeads, headDim, ffnDim } = hp;
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [dim, vocabSize] },
    { name: 'output_norm.weight', dims: [dim] },
    { name: 'output.weight', dims: [dim, vocabSize], optional: true },
    { name: 'rope_freqs.weight', dims: [hp.rope.dims / 2], optional: true },
  ];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    specs.push(
      { name: `${b}attn_norm.weight`, dims: [dim] },
      { name: `${b}attn_q.weight`, dims: [dim, nHeads * headDim] },
      { name: `${b}attn_k.weight`, dims: [dim, kvHeads * headDim] },
      { name: `${b}attn_v.weight`, dims: [dim, kvHeads * headDim] },
      { name: `${b}attn_output.weight`, dims: [nHeads * headDim, dim] },
      { name: `${b}ffn_norm.weight`, dims: [dim] },
      { name: `${b}ffn_gate.weight`, dims: [dim, ffnDim] },
      { name: `${b}ffn_up.weight`, dims: [dim, ffnDim] },
      { name: `${b}ffn_down.weight`, dims: [ffnDim, dim] },
    );
  }
  return specs;
}

function need<T>(v: T | undefined, name: string): T {
  if (v === undefined) throw new StreamLlmError('MISSING_TENSOR', `tensor '${name}' is missing`, { context: { tensor: name } });
  return v;
}

/** Per-batch activations, reallocated only when a larger batch arrives. */
class Scratch {
  n = 0;
  x: Float32Array = new Float32Array(0); // (n, dim) residual stream
  xb: Float32Array = new Float32Array(0); // (n, dim) normed input
  xb2: Float32Array = new Float32Array(0); // (n, dim) sublayer output
  q: Float32Array = new Float32Array(0); // (n, nHeads*headDim)
  k: Float32Array = new Float32Array(0); // (n, kvHeads*headDim)
  v: Float32Array = new Float32Array(0);
  att: Float32Array = new Float32Array(0); // (n, nHeads*headDim)
  hb: Float32Array = new Float32Array(0); // (n, ffn)
  hb2: Float32Array = new Float32Array(0);
  logits: Float32Array = new Float32Array(0); // (m, vocab)

  constructor(private readonly ops: Ops) {}

  ensure(hp: Hparams, n: number): void {
    if (n <= this.n) return;
    const qd = hp.nHeads * hp.headDim;
    const kd = hp.kvHeads * hp.headDim;
    const a = (size: number, old: Float32Array) => {
      if (old.length > 0) this.ops.free(old);
      return this.ops.allocF32(size);
    };
    this.x = a(n * hp.dim, this.x);
    this.xb = a(n * hp.dim, this.xb);
    this.xb2 = a(n * hp.dim, this.xb2);
    this.q = a(n * qd, this.q);
    this.k = a(n * kd, this.k);
    this.v = a(n * kd, this.v);
    this.att = a(n * qd, this.att);
    this.hb = a(n * hp.ffnDim, this.hb);
    this.hb2 = a(n * hp.ffnDim, this.hb2);
    this.n = n;
  }

  private logitsView: Float32Array = new Float32Array(0);

  /** (m, vocab) logits; the view is cached so decode steps allocate nothing. */
  ensureLogits(size: number): Float32Array {
    if (this.logits.length < size) {
      if (this.logits.length > 0) this.ops.free(this.logits);
      this.logits = this.ops.allocF32(size);
    }
    if (this.logitsView.length !== size || this.logitsView.buffer !== this.logits.buffer) this.logitsView = this.logits.subarray(0, size);
    return this.logitsView;
  }
}

class LlamaModel implements Model {
  readonly geometry: CacheGeometry;
  private readonly layers: LayerWeights[] = [];
  private readonly tokEmbd: WeightMatrix;
  private readonly outNorm: Float32Array;
  private readonly output: WeightMatrix;
  private readonly s: Scratch;

  constructor(
    readonly hparams: Hparams,
    w: LoadedWeights,
    private readonly ops: Ops,
    readonly weightBytes: number,
  ) {
    const hp = hparams;
    this.s = new Scratch(ops);
    this.tokEmbd = need(w.get('token_embd.weight'), 'token_embd.weight');
    this.outNorm = need(w.vector('output_norm.weight'), 'output_norm.weight');
    // No output.weight means the classifier is tied to the embedding (llama2.c "shared").
    this.output = w.get('output.weight') ?? this.tokEmbd;
    for (let l = 0; l < hp.layers; l++) {
      const b = `blk.${l}.`;
      const m = (s: string) => need(w.get(b + s), b + s);
      this.layers.push({
        attnNorm: need(w.vector(`${b}attn_norm.weight`), `${b}attn_norm.weight`),
        wq: m('attn_q.weight'),
        wk: m('attn_k.weight'),
        wv: m('attn_v.weight'),
        wo: m('attn_output.weight'),
        ffnNorm: need(w.vector(`${b}ffn_norm.weight`), `${b}ffn_norm.weight`),
        gate: m('ffn_gate.weight'),
        up: m('ffn_up.weight'),
        down: m('ffn_down.weight'),
      });
    }
    const spec = ropeSpec({
      style: hp.rope.style,
      dims: hp.rope.dims,
      base: hp.rope.base,
      freqScale: hp.rope.freqScale,
      freqFactors: w.vector('rope_freqs.weight'),
    });
    this.geometry = {
      layers: hp.layers,
      nHeads: hp.nHeads,
      kvHeads: hp.kvHeads,
      headDim: hp.headDim,
      positional: { kind: 'rope', spec },
      contextLength: hp.contextLength,
      scale: 1 / Math.sqrt(hp.headDim),
    };
  }

  forward(tokens: ArrayLike<number>, cache: KvCache, opts: ForwardOptions = {}): Float32Array {
    const hp = this.hparams;
    const ops = this.ops;
    const n = tokens.length;
    if (n === 0) return new Float32Array(0);
    const s = this.s;
    s.ensure(hp, n);
    const hook = opts.onTensor;
    const dim = hp.dim;
    ops.getRows(s.x, this.tokEmbd, tokens);
    cache.begin(n);
    for (let l = 0; l < hp.layers; l++) {
      const L = this.layers[l]!;
      ops.rmsnorm(s.xb, s.x, L.attnNorm, hp.normEps, n);
      ops.matmul(s.q, L.wq, s.xb, n);
      ops.matmul(s.k, L.wk, s.xb, n);
      ops.matmul(s.v, L.wv, s.xb, n);
      cache.attend(l, s.q, s.k, s.v, s.att);
      hook?.('attn_out', l, s.att.subarray(0, n * hp.nHeads * hp.headDim));
      ops.matmul(s.xb2, L.wo, s.att, n);
      ops.add(s.x, s.xb2, n * dim);
      ops.rmsnorm(s.xb, s.x, L.ffnNorm, hp.normEps, n);
      ops.matmul(s.hb, L.gate, s.xb, n);
      ops.matmul(s.hb2, L.up, s.xb, n);
      ops.swiglu(s.hb, s.hb2, n * hp.ffnDim);
      ops.matmul(s.xb2, L.down, s.hb, n);
      ops.add(s.x, s.xb2, n * dim);
      hook?.('l_out', l, s.x.subarray(0, n * dim));
    }
    cache.end();
    const mode = opts.logits ?? 'last';
    if (mode === 'none') return new Float32Array(0);
    const first = mode === 'all' ? 0 : n - 1;
    const m = n - first;
    const xs = first === 0 ? s.x : s.x.subarray(first * dim, n * dim);
    ops.rmsnorm(s.xb, xs, this.outNorm, hp.normEps, m);
    const out = s.ensureLogits(m * hp.vocabSize);
    ops.matmul(out, this.output, s.xb, m);
    hook?.('result_output', -1, out);
    return out;
  }
}

export const llama: ArchModule = {
  name: 'llama',
  tensorSpecs,
  build: (hp, weights, ops) => {
    let bytes = 0;
    for (const t of tensorSpecs(hp)) bytes += weights.get(t.name)?.data.byteLength ?? 0;
    return new LlamaModel(hp, weights, ops, bytes);
  },
};
