/**
 * GPT-NeoX (Pythia-style) against llama.cpp on a random-weight model with the
 * real gpt-neox vocabulary: LayerNorm with bias, use_parallel_residual, partial
 * rotary (8 of 16 dims) in the halves layout, fused QKV with bias, GELU MLP
 * with biases. The sequential-residual variant gets the dense check too.
 */
import { test } from 'node:test';
import type { GptNeoxHparams } from '../src/models/types.js';
import { checkAgainstLlamaCpp, LOG_TOL_GELU, oracleFile } from './helpers/arch-oracle.js';

const file = oracleFile();
const VOCAB = 'vocab/ggml-vocab-gpt-neox.gguf';
const PYTHIA: GptNeoxHparams = {
  arch: 'gptneox',
  vocabSize: 50432,
  dim: 64,
  layers: 3,
  nHeads: 4,
  kvHeads: 4,
  headDim: 16,
  ffnDim: 256,
  contextLength: 512,
  normEps: 1e-5,
  rope: { base: 10000, dims: 8, style: 'halves', freqScale: 1 },
  parallelResidual: true,
};

test('gptneox, Pythia-style (parallel residual, 50% rotary), matches llama.cpp', async (t) => {
  await checkAgainstLlamaCpp(t, file, {
    name: 'gptneox-parallel',
    vocab: VOCAB,
    logTol: LOG_TOL_GELU,
    model: { hparams: PYTHIA, seed: 11, logitScale: 1.5 },
  });
});

test('gptneox with a sequential residual matches llama.cpp (dense)', async (t) => {
  await checkAgainstLlamaCpp(t, file, {
    name: 'gptneox-sequential',
    vocab: VOCAB,
    logTol: LOG_TOL_GELU,
    checks: ['dense'],
    tokens: 100,
    model: { hparams: { ...PYTHIA, parallelResidual: false, layers: 2 }, seed: 12, logitScale: 1.5 },
  });
});
