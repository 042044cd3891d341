/**
 * Llama-family `llama` GGUF files against llama.cpp, with the real llama-spm
 * vocabulary:
 *  - Llama-style: multi-head attention, classifier tied to the embedding;
 *  - Mistral-style: grouped KV (8 heads over 2), rope θ = 1e6, and a
 *    `llama.attention.sliding_window` of 32 in the file. llama.cpp ignores the
 *    key for `llama`; we record it in Hparams and let the cache policy decide
 *    what a query sees, so both attend to all 300 tokens (dense) or to the
 *    same sinks + window (StreamingLLM).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LlamaHparams } from '../src/models/types.js';
import { join } from 'node:path';
import { checkAgainstLlamaCpp, openOurs, oracleFile } from './helpers/arch-oracle.js';

const file = oracleFile();
const VOCAB = 'vocab/ggml-vocab-llama-spm.gguf';

const LLAMA: LlamaHparams = {
  arch: 'llama',
  vocabSize: 32000,
  dim: 64,
  layers: 3,
  nHeads: 4,
  kvHeads: 4,
  headDim: 16,
  ffnDim: 172,
  contextLength: 512,
  normEps: 1e-5,
  rope: { base: 10000, dims: 16, style: 'adjacent', freqScale: 1 },
};

const MISTRAL: LlamaHparams = {
  ...LLAMA,
  dim: 128,
  layers: 2,
  nHeads: 8,
  kvHeads: 2,
  ffnDim: 352,
  rope: { base: 1e6, dims: 16, style: 'adjacent', freqScale: 1 },
  slidingWindow: 32,
};

test('llama (MHA, tied output) matches llama.cpp', async (t) => {
  await checkAgainstLlamaCpp(t, file, { name: 'llama', vocab: VOCAB, model: { hparams: LLAMA, seed: 41, logitScale: 2, tiedOutput: true } });
});

test('mistral-style llama (GQA 8/2, θ 1e6, sliding_window metadata) matches llama.cpp', async (t) => {
  await checkAgainstLlamaCpp(t, file, { name: 'mistral', vocab: VOCAB, model: { hparams: MISTRAL, seed: 42, logitScale: 2 } });
  // The key round-trips as information; it restricted nothing above.
  const hp = openOurs(join(file.dir, 'mistral.gguf')).hparams;
  assert.equal(hp.arch === 'llama' ? hp.slidingWindow : undefined, 32);
});
