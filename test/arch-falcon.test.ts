/**
 * Falcon against llama.cpp on random-weight models with the real falcon
 * vocabulary (65024 tokens):
 *  - 7B style: one LayerNorm feeding parallel attention and MLP, multi-query
 *    attention (1 KV head), classifier tied to the embedding;
 *  - 40B style: attn_norm_2 for attention and attn_norm for the MLP, grouped
 *    KV (8 query heads over 2 KV heads) in the [Q | K | V] fused layout.
 */
import { test } from 'node:test';
import type { FalconHparams } from '../src/models/types.js';
import { checkAgainstLlamaCpp, LOG_TOL_GELU, oracleFile } from './helpers/arch-oracle.js';

const file = oracleFile();
const VOCAB = 'vocab/ggml-vocab-falcon.gguf';
const base = { arch: 'falcon', vocabSize: 65024, contextLength: 512, normEps: 1e-5, headDim: 16 } as const;

const F7B: FalconHparams = {
  ...base,
  dim: 64,
  layers: 3,
  nHeads: 4,
  kvHeads: 1,
  ffnDim: 256,
  rope: { base: 10000, dims: 16, style: 'halves', freqScale: 1 },
  separateAttnNorm: false,
};

const F40B: FalconHparams = {
  ...base,
  dim: 128,
  layers: 2,
  nHeads: 8,
  kvHeads: 2,
  ffnDim: 512,
  rope: { base: 10000, dims: 16, style: 'halves', freqScale: 1 },
  separateAttnNorm: true,
};

test('falcon, 7B style (shared LayerNorm, multi-query, tied output), matches llama.cpp', async (t) => {
  await checkAgainstLlamaCpp(t, file, {
    name: 'falcon-7b',
    vocab: VOCAB,
    logTol: LOG_TOL_GELU,
    model: { hparams: F7B, seed: 31, logitScale: 1.5, tiedOutput: true },
  });
});

test('falcon, 40B style (attn_norm_2, grouped KV), matches llama.cpp', async (t) => {
  await checkAgainstLlamaCpp(t, file, {
    name: 'falcon-40b',
    vocab: VOCAB,
    logTol: LOG_TOL_GELU,
    model: { hparams: F40B, seed: 32, logitScale: 1.5 },
  });
});
