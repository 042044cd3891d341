/**
 * What every architecture module provides, and the normalized hyperparameters
 * all loaders (GGUF, llama2.c, later HF config.json) map into. `forward()` reads
 * only `Hparams`, never a raw metadata dictionary.
 *
 * `Hparams` is a union discriminated by `arch` (GGUF `general.architecture`):
 * the fields every decoder shares, plus what one family adds (ALiBi for MPT,
 * parallel residual for GPT-NeoX, ...). Each architecture file declares its
 * own member next to the code that reads it.
 */
import type { CacheGeometry, KvCache } from '../cache/types.js';
import type { Ops, RopeStyle, WeightMatrix } from '../kernels/types.js';
import type { TensorDesc } from '../formats/tensor-source.js';
import type { GgufEntry } from '../formats/gguf/types.js';

export type ArchName = 'llama' | 'qwen2' | 'gptneox' | 'falcon' | 'mpt';

export interface RopeHparams {
  readonly base: number;
  /** Rotated dimensions per head (GPT-NeoX rotates only a leading fraction). */
  readonly dims: number;
  readonly style: RopeStyle;
  /** Linear scaling: positions are multiplied by this (1 = none). */
  readonly freqScale: number;
}

/** The shape every decoder-only transformer here shares. */
export interface CommonHparams {
  readonly vocabSize: number;
  readonly dim: number;
  readonly layers: number;
  readonly nHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffnDim: number;
  readonly contextLength: number;
  /** RMSNorm or LayerNorm epsilon, whichever the architecture uses. */
  readonly normEps: number;
}

/**
 * Llama family (Llama 1/2/3, llama2.c, TinyLlama, SmolLM, Mistral): RMSNorm,
 * separate Q/K/V, SwiGLU, RoPE (adjacent pairs: GGUF llama files are permuted).
 */
export interface LlamaHparams extends CommonHparams {
  readonly arch: 'llama';
  readonly rope: RopeHparams;
  /**
   * Mistral's training-time sliding window (`llama.attention.sliding_window`),
   * when the file records one. Informational only: the KV-cache policy the
   * session runs with decides which tokens each query sees (llama.cpp ignores
   * the key for `llama` too). A window policy of this size reproduces it.
   */
  readonly slidingWindow?: number;
}

/** Qwen2: the Llama block plus Q/K/V biases; RoPE in halves layout (HF weights are not permuted). */
export interface Qwen2Hparams extends CommonHparams {
  readonly arch: 'qwen2';
  readonly rope: RopeHparams;
  /** Q/K/V projection biases present (Qwen2 always; llama.cpp treats them as optional). */
  readonly qkvBias: boolean;
  /** As for Llama: informational, the cache policy takes precedence. */
  readonly slidingWindow?: number;
}

/** GPT-NeoX / Pythia: LayerNorm with bias, fused QKV, partial rotary (halves), GELU MLP. */
export interface GptNeoxHparams extends CommonHparams {
  readonly arch: 'gptneox';
  readonly rope: RopeHparams;
  /** x + attn(ln1(x)) + mlp(ln2(x)) instead of the sequential residual. */
  readonly parallelResidual: boolean;
}

/** Falcon: one block with parallel attention and MLP, multi-query or grouped KV, RoPE halves. */
export interface FalconHparams extends CommonHparams {
  readonly arch: 'falcon';
  readonly rope: RopeHparams;
  /**
   * Falcon-40B style: attention reads its own LayerNorm (`attn_norm_2`) and
   * the MLP reads `attn_norm`; 7B style feeds one LayerNorm to both.
   */
  readonly separateAttnNorm: boolean;
}

/** MPT: ALiBi instead of positional embeddings, LayerNorm, fused QKV, GELU MLP. */
export interface MptHparams extends CommonHparams {
  readonly arch: 'mpt';
  /** ALiBi's largest slope exponent (8 in MPT); 0 means no position information at all. */
  readonly alibiMaxBias: number;
  /** Clamp fused QKV activations to ±this (`clip_qkv`); undefined = no clamp. */
  readonly clampKqv: number | undefined;
  /** Linear and LayerNorm biases present (MPT's `no_bias: false`); all or none. */
  readonly bias: boolean;
}

export type Hparams = LlamaHparams | Qwen2Hparams | GptNeoxHparams | FalconHparams | MptHparams;

/** The Hparams member for one architecture. */
export type HparamsOf<A extends ArchName> = Extract<Hparams, { readonly arch: A }>;

export type { TensorDesc, TensorSource } from '../formats/tensor-source.js';

/**
 * Observe named intermediates (for layer-by-layer diffs); costs nothing when
 * absent. `data` is a view on scratch the next step of the layer may reuse:
 * read or copy it during the callback.
 */
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

/**
 * How GELU is evaluated. 'ggml' reproduces llama.cpp's CPU backend, which
 * rounds the input to fp16 and reads a 65536-entry table of fp16 results
 * (see layers/gelu.ts); 'tanh' is the plain tanh approximation (`ops.gelu`).
 */
export type GeluMode = 'ggml' | 'tanh';

export interface BuildOptions {
  /** Default 'ggml', so GELU models agree with llama.cpp within 1e-4. */
  readonly gelu?: GeluMode;
}

/** The subset of a GGUF file the normalizers need (keeps them testable without files). */
export interface MetadataReader {
  readonly name: string;
  getString(key: string, fallback?: string): string;
  getNumber(key: string, fallback?: number): number;
  getBool(key: string, fallback?: boolean): boolean;
  has(key: string): boolean;
}

export interface ArchModule<H extends Hparams = Hparams> {
  readonly name: H['arch'];
  /** GGUF metadata (llama.cpp key conventions) + the tensor table → validated Hparams. */
  fromGguf(meta: MetadataReader, tensors: readonly TensorDesc[]): H;
  /** The inverse: llama.cpp's metadata keys for these Hparams, for the GGUF writer. */
  ggufMetadata(hp: H): [string, GgufEntry][];
  /** The tensors this architecture reads for a given shape. */
  tensorSpecs(hp: H): TensorSpec[];
  /** Build the model from loaded weights. */
  build(hp: H, weights: LoadedWeights, ops: Ops, opts?: BuildOptions): Model;
}

export interface LoadedWeights {
  /** Present tensors by name, in engine memory. */
  get(name: string): WeightMatrix | undefined;
  /** A 1-D tensor as f32 (norm weights, biases), dequantized once at load. */
  vector(name: string): Float32Array | undefined;
}
