/**
 * MPT against llama.cpp on a random-weight model with the real mpt
 * vocabulary: ALiBi (max bias 8) with SIX heads, so ggml's slopes for a
 * non-power-of-two head count are exercised; no positional embedding;
 * LayerNorm without bias; fused QKV clamped by clamp_kqv; GELU MLP. Under
 * StreamingLLM the bias uses in-cache distances on both sides. A variant with
 * biases everywhere gets the dense check too.
 */
import { test } from 'node:test';
import type { MptHparams } from '../src/models/types.js';
import { checkAgainstLlamaCpp, LOG_TOL_GELU, oracleFile } from './helpers/arch-oracle.js';

const file = oracleFile();
const VOCAB = 'vocab/ggml-vocab-mpt.gguf';
const MPT: MptHparams = {
  arch: 'mpt',
  vocabSize: 50432,
  dim: 96,
  layers: 3,
  nHeads: 6,
  kvHeads: 6,
  headDim: 16,
  ffnDim: 384,
  contextLength: 512,
  normEps: 1e-5,
  alibiMaxBias: 8,
  // q/k/v come out of the projection with unit scale, so ±1.5 clips a real fraction of them.
  clampKqv: 1.5,
  bias: false,
};

test('mpt (ALiBi, 6 heads, clamp_kqv, no biases) matches llama.cpp', async (t) => {
  await checkAgainstLlamaCpp(t, file, {
    name: 'mpt',
    vocab: VOCAB,
    logTol: LOG_TOL_GELU,
    model: { hparams: MPT, seed: 21, logitScale: 1.5 },
  });
});

test('mpt with biases, 8 heads and no clamp matches llama.cpp (dense)', async (t) => {
  await checkAgainstLlamaCpp(t, file, {
    name: 'mpt-bias',
    vocab: VOCAB,
    logTol: LOG_TOL_GELU,
    checks: ['dense'],
    tokens: 100,
    model: { hparams: { ...MPT, nHeads: 8, kvHeads: 8, headDim: 12, clampKqv: undefined, bias: true, layers: 2 }, seed: 22, logitScale: 1.5 },
  });
});
