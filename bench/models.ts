/**
 * Benchmark models: random-weight GGUFs written by the project's own writer,
 * with a synthetic 32000-token SentencePiece vocabulary so llama.cpp accepts
 * them (speed does not depend on weight values or token strings).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticSpmVocab, writeRandomModel } from '../src/convert/random.js';
import type { Hparams } from '../src/models/types.js';
import { GgmlType, typeName } from '../src/tensor/dtype.js';
import { spmVocabToGgufMetadata } from '../src/tokenizer/index.js';
import { BENCH_DIR } from './common.js';
import { GgufFile, type GgufEntry } from '../src/formats/gguf/index.js';

const llamaShape = (dim: number, layers: number, heads: number, kvHeads: number, ffn: number, ctx: number): Hparams => ({
  arch: 'llama',
  vocabSize: 32000,
  dim,
  layers,
  nHeads: heads,
  kvHeads,
  headDim: dim / heads,
  ffnDim: ffn,
  contextLength: ctx,
  normEps: 1e-5,
  rope: { base: 10000, dims: dim / heads, style: 'adjacent', freqScale: 1 },
});

const common768 = { dim: 768, layers: 12, nHeads: 12, kvHeads: 12, headDim: 64, ffnDim: 3072, contextLength: 2048, normEps: Math.fround(1e-5) } as const;

export const SHAPES = {
  // Pythia-160M: GPT-NeoX, parallel residual, 25% rotary (16 of 64 dims), vocab 50304 (here: the gpt-neox fixture's 50277).
  'pythia-160m': { arch: 'gptneox', vocabSize: 50277, ...common768, rope: { base: 10000, dims: 16, style: 'halves', freqScale: 1 }, parallelResidual: true } as Hparams,
  // MPT-style 125M: ALiBi (max bias 8), no biases, LayerNorm, vocab of the mpt fixture.
  'mpt-125m': { arch: 'mpt', vocabSize: 50277, ...common768, alibiMaxBias: 8, clampKqv: undefined, bias: false } as Hparams,
  'llama-110m': llamaShape(768, 12, 12, 12, 2048, 1024),
  'tinyllama-1.1b': llamaShape(2048, 22, 32, 4, 5632, 2048),
  'llama-d512-l8': llamaShape(512, 8, 8, 8, 1376, 4096),
} as const;

/** Byte-level BPE shapes borrow a real vocabulary (llama.cpp needs merges); the fixtures are dev-only. */
const VOCAB_FIXTURE: Partial<Record<keyof typeof SHAPES, string>> = { 'pythia-160m': 'ggml-vocab-gpt-neox.gguf', 'mpt-125m': 'ggml-vocab-mpt.gguf' };

function vocabMetadataOf(shape: keyof typeof SHAPES): [string, GgufEntry][] {
  const fixture = VOCAB_FIXTURE[shape];
  if (fixture === undefined) return spmVocabToGgufMetadata(syntheticSpmVocab(32000));
  const f = GgufFile.open(join(BENCH_DIR, '..', '..', 'shared', 'fixtures', 'vocab', fixture));
  try {
    return [...f.metadata].filter(([k]) => k.startsWith('tokenizer.'));
  } finally {
    f.close();
  }
}

/** Path of the random model `shape` in `type`, writing it on first use (bench/out, not committed). */
export function benchModel(shape: keyof typeof SHAPES, type: GgmlType): string {
  const dir = join(BENCH_DIR, 'out');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${shape}-${typeName(type).toLowerCase()}.gguf`);
  if (!existsSync(path)) {
    console.error(`writing ${path} ...`);
    const metadata = vocabMetadataOf(shape);
    // The vocabulary decides the embedding size (gpt-neox's has 50432 entries, mpt's 50277).
    const tokens = metadata.find(([k]) => k === 'tokenizer.ggml.tokens')?.[1].value as { items: readonly unknown[] } | undefined;
    writeRandomModel(path, {
      hparams: { ...SHAPES[shape], vocabSize: tokens?.items.length ?? SHAPES[shape].vocabSize } as Hparams,
      type,
      seed: 42,
      name: `random ${shape}`,
      metadata,
    });
  }
  return path;
}

export { GgmlType };
