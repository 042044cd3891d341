/**
 * The skeleton every architecture shares:
 *   x = embed(tokens)
 *   per layer:  block(x)           (the architecture's own composition of layers)
 *   logits = output · norm(x)
 * and the cache geometry it attends with. An architecture file supplies the
 * weights and a `block`; the cache policy stays behind `cache.attend`.
 */
import type { CacheGeometry, KvCache, Positional } from '../../cache/types.js';
import { ropeSpec } from '../../kernels/rope.js';
import type { Ops, WeightMatrix } from '../../kernels/types.js';
import type { ForwardOptions, Hparams, LoadedWeights, Model, RopeHparams, TensorSpec } from '../types.js';
import { alibiSlopes } from './alibi.js';
import type { BlockContext } from './attention.js';
import { linear } from './linear.js';
import { applyNorm, type NormKind } from './norm.js';
import { Scratch } from './scratch.js';
import type { Linear, NormWeights } from './weights.js';

export interface DecoderParts<H extends Hparams> {
  readonly hparams: H;
  readonly ops: Ops;
  readonly positional: Positional;
  readonly norm: NormKind;
  readonly tokEmbd: WeightMatrix;
  readonly outNorm: NormWeights;
  readonly output: Linear;
  /** Whether blocks use a fused QKV projection (sizes the scratch). */
  readonly fusedQkv: boolean;
  readonly weightBytes: number;
  /** One transformer layer, in place on `c.s.x` for the batch. */
  readonly block: (c: BlockContext, layer: number) => void;
}

/** RoPE applied by the cache at the positions its policy assigns. */
export function ropePositional(r: RopeHparams, freqFactors?: Float32Array): Positional {
  return { kind: 'rope', spec: ropeSpec({ style: r.style, dims: r.dims, base: r.base, freqScale: r.freqScale, freqFactors }) };
}

/** ALiBi with in-cache distances; maxBias 0 means no position information (llama.cpp's reading). */
export function alibiPositional(nHeads: number, maxBias: number): Positional {
  return maxBias > 0 ? { kind: 'alibi', slopes: alibiSlopes(nHeads, maxBias) } : { kind: 'none' };
}

/** Bytes the model's tensors occupy once loaded. */
export function weightBytes(specs: readonly TensorSpec[], w: LoadedWeights): number {
  let bytes = 0;
  for (const t of specs) bytes += w.get(t.name)?.data.byteLength ?? (w.vector(t.name)?.length ?? 0) * 4;
  return bytes;
}

export class Decoder<H extends Hparams> implements Model {
  readonly hparams: H;
  readonly geometry: CacheGeometry;
  readonly weightBytes: number;
  private readonly ops: Ops;
  private readonly s: Scratch;
  private readonly ctx: { -readonly [K in keyof BlockContext]: BlockContext[K] };

  constructor(private readonly parts: DecoderParts<H>) {
    const hp = parts.hparams;
    this.hparams = hp;
    this.ops = parts.ops;
    this.weightBytes = parts.weightBytes;
    this.s = new Scratch(parts.ops, hp, parts.fusedQkv);
    this.ctx = { ops: parts.ops, hp, s: this.s, n: 0, cache: undefined as unknown as KvCache, hook: undefined };
    this.geometry = {
      layers: hp.layers,
      nHeads: hp.nHeads,
      kvHeads: hp.kvHeads,
      headDim: hp.headDim,
      positional: parts.positional,
      contextLength: hp.contextLength,
      scale: 1 / Math.sqrt(hp.headDim),
    };
  }

  forward(tokens: ArrayLike<number>, cache: KvCache, opts: ForwardOptions = {}): Float32Array {
    const { hparams: hp, ops, parts: p } = this;
    const n = tokens.length;
    if (n === 0) return new Float32Array(0);
    const s = this.s;
    s.ensure(n);
    const hook = opts.onTensor;
    const dim = hp.dim;
    ops.getRows(s.x, p.tokEmbd, tokens);
    // One context object per forward is fine for prefill; decode reuses it so a step allocates nothing.
    const c = this.ctx;
    c.n = n;
    c.cache = cache;
    c.hook = hook;
    cache.begin(n);
    for (let l = 0; l < hp.layers; l++) {
      p.block(c, l);
      hook?.('l_out', l, s.x.subarray(0, n * dim));
    }
    cache.end();
    const mode = opts.logits ?? 'last';
    if (mode === 'none') return new Float32Array(0);
    const first = mode === 'all' ? 0 : n - 1;
    const m = n - first;
    applyNorm(ops, p.norm, s.h1, first === 0 ? s.x : s.x.subarray(first * dim, n * dim), p.outNorm, hp.normEps, m);
    const out = s.ensureLogits(m * hp.vocabSize);
    linear(ops, out, p.output, s.h1, m);
    hook?.('result_output', -1, out);
    return out;
  }
}
