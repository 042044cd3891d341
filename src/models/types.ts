/**
 * What every architecture module provides, and the normalized hyperparameters
 * all loaders (GGUF, llama2.c, later HF config.json) map into. `forward()` reads
 * only `Hparams`, never a raw metadata dictionary.
 */
import type { CacheGeometry, KvCache } from '../cache/types.js';
import type { Ops, RopeStyle, WeightMatrix } from '../kernels/types.js';

export type ArchName = 'llama';

export interface RopeHparams {
  readonly base: number;
  /** Rotated dimensions per head. */
  readonly dims: number;
  readonly style: RopeStyle;
  /** Linear scaling: positions are multiplied by this (1 = none). */
  readonly freqScale: number;
}

export interface Hparams {
  readonly arch: ArchName;
  readonly vocabSize: number;
  readonly dim: number;
  readonly layers: number;
  readonly nHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffnDim: number;
  readonly contextLength: number;
  readonly normEps: number;
  readonly rope: RopeHparams;
}

export type { TensorDesc, TensorSource } from '../formats/tensor-source.js';

/** Observe named intermediates (for layer-by-layer diffs); costs nothing when absent. */
export type TensorHook = (name: string, layer: number, data: Float32Array) => void;

export interface ForwardOptions {
  /** Which positions need logits: the last token only (generation), all (perplexity), or none. */
  readonly logits?: 'last' | 'all' | 'none';
  readonly onTensor?: TensorHook;
}

export interface Model {
  readonly hparams: Hparams;
  /** The cache geometry this model attends with. */
  readonly geometry: CacheGeometry;
  /** Bytes of weights held in engine memory. */
  readonly weightBytes: number;
  /**
   * Run a batch of tokens through the model, attending via `cache`.
   * Returns (m, vocab) logits for the requested positions; the array is
   * reused by the next call, so copy what you keep.
   */
  forward(tokens: ArrayLike<number>, cache: KvCache, opts?: ForwardOptions): Float32Array;
}

/** Expected tensor, per architecture; dims in ggml order. */
export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly optional?: boolean;
}

export interface ArchModule {
  readonly name: ArchName;
  /** The tensors this architecture reads for a given shape. */
  tensorSpecs(hp: Hparams): TensorSpec[];
  /** Build the model from loaded weights. */
  build(hp: Hparams, weights: LoadedWeights, ops: Ops): Model;
}

export interface LoadedWeights {
  /** Present tensors by name, in engine memory. */
  get(name: string): WeightMatrix | undefined;
  /** A 1-D tensor as f32 (norm weights, biases), dequantized once at load. */
  vector(name: string): Float32Array | undefined;
}
