/**
 * Qwen2 against llama.cpp: the Llama block with Q/K/V biases, RoPE in the
 * halves layout (llama.cpp's rope type for qwen2 is NEOX), grouped KV, rope
 * θ = 1e6 and an output bias. No Qwen2 vocabulary ships in the fixtures; the
 * GPT-2 byte-level BPE one is accepted by llama.cpp for any architecture.
 */
import { test } from 'node:test';
import { checkAgainstLlamaCpp, oracleFile } from './helpers/arch-oracle.js';

const file = oracleFile();

test('qwen2 (QKV biases, neox rope, GQA, output bias) matches llama.cpp', async (t) => {
  await checkAgainstLlamaCpp(t, file, {
    name: 'qwen2',
    vocab: 'vocab/ggml-vocab-gpt-2.gguf',
    model: {
      seed: 51,
      logitScale: 2,
      optionalTensors: ['output.bias'],
      hparams: {
        arch: 'qwen2',
        vocabSize: 50257,
        dim: 64,
        layers: 3,
        nHeads: 4,
        kvHeads: 2,
        headDim: 16,
        ffnDim: 176,
        contextLength: 512,
        normEps: 1e-6,
        rope: { base: 1e6, dims: 16, style: 'halves', freqScale: 1 },
        qkvBias: true,
      },
    },
  });
});
