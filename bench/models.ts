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

export const SHAPES = {
  'llama-110m': llamaShape(768, 12, 12, 12, 2048, 1024),
  'tinyllama-1.1b': llamaShape(2048, 22, 32, 4, 5632, 2048),
  'llama-d512-l8': llamaShape(512, 8, 8, 8, 1376, 4096),
} as const;

/** Path of the random model `shape` in `type`, writing it on first use (bench/out, not committed). */
export function benchModel(shape: keyof typeof SHAPES, type: GgmlType): string {
  const dir = join(BENCH_DIR, 'out');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${shape}-${typeName(type).toLowerCase()}.gguf`);
  if (!existsSync(path)) {
    console.error(`writing ${path} ...`);
    writeRandomModel(path, {
      hparams: SHAPES[shape],
      type,
      seed: 42,
      name: `random ${shape}`,
      metadata: spmVocabToGgufMetadata(syntheticSpmVocab(32000)),
    });
  }
  return path;
}

export { GgmlType };
