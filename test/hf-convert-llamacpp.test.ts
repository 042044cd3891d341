/**
 * `convert --from hf` against llama.cpp (node-llama-cpp 3.21.1, CPU, F32 KV
 * cache, flash attention off): a Hugging Face folder (random weights with
 * realistic structure, a real vocabulary as tokenizer.json) is converted to
 * GGUF; llama.cpp must load that file, and its next-token probabilities must
 * match ours computed from the *folder* (loadModel(dir)) within 1e-4 at every
 * position; greedy continuations and tokenization must be equal too. This
 * checks the name mapping, the row reorderings and the tokenizer metadata
 * against an implementation we did not write.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { convertHf } from '../src/convert/hf.js';
import { writeRandomModel } from '../src/convert/random.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel, type LoadedModel } from '../src/runtime/index.js';
import { Session } from '../src/runtime/session.js';
import { scalarOps } from '../src/kernels/scalar.js';
import { FULL_EVERY, LOG_TOL, LOG_TOL_GELU, oracleFile, ProbCompare, randomStream, TOL, TOP_K } from './helpers/arch-oracle.js';
import { needFixture } from './helpers/fixtures.js';
import { hfDirFromGguf } from './helpers/hf-dir.js';
import { bpeTokenizerJson, PRE_TOKENIZERS, spmTokenizerJson } from './helpers/hf-tokenizer-json.js';

const file = oracleFile();
const TOKENS = 120;
const TEXTS = ['Hello world', ' The quick brown fox, 1234567 times!', 'emoji 🦙 and ünïcödé\n\tnew line', "it's   spaced    out"];

interface Case {
  readonly name: string;
  readonly vocab: string;
  readonly hp: Hparams;
  readonly kind: 'spm' | 'gpt2' | 'falcon';
  readonly logTol: number;
  readonly tied?: boolean;
}

const small = { dim: 64, layers: 2, contextLength: 256, normEps: 1e-5 } as const;
const CASES: Case[] = [
  {
    name: 'llama', vocab: 'vocab/ggml-vocab-llama-spm.gguf', kind: 'spm', logTol: LOG_TOL,
    hp: { ...small, arch: 'llama', vocabSize: 32000, nHeads: 4, kvHeads: 2, headDim: 16, ffnDim: 128, rope: { base: 10000, dims: 16, style: 'adjacent', freqScale: 1 } },
  },
  {
    name: 'gpt_neox', vocab: 'vocab/ggml-vocab-gpt-neox.gguf', kind: 'gpt2', logTol: LOG_TOL_GELU,
    hp: { ...small, arch: 'gptneox', vocabSize: 50432, nHeads: 4, kvHeads: 4, headDim: 16, ffnDim: 256, rope: { base: 10000, dims: 8, style: 'halves', freqScale: 1 }, parallelResidual: true },
  },
  {
    name: 'falcon-40b', vocab: 'vocab/ggml-vocab-falcon.gguf', kind: 'falcon', logTol: LOG_TOL_GELU,
    hp: { ...small, arch: 'falcon', vocabSize: 65024, nHeads: 8, kvHeads: 2, headDim: 8, ffnDim: 256, rope: { base: 10000, dims: 8, style: 'halves', freqScale: 1 }, separateAttnNorm: true },
  },
  {
    name: 'mpt', vocab: 'vocab/ggml-vocab-mpt.gguf', kind: 'gpt2', logTol: LOG_TOL_GELU, tied: true,
    hp: { ...small, arch: 'mpt', vocabSize: 50432, nHeads: 4, kvHeads: 4, headDim: 16, ffnDim: 256, alibiMaxBias: 8, clampKqv: undefined, bias: false },
  },
  {
    name: 'qwen2', vocab: 'vocab/ggml-vocab-gpt-2.gguf', kind: 'gpt2', logTol: LOG_TOL,
    hp: { ...small, arch: 'qwen2', vocabSize: 50257, nHeads: 4, kvHeads: 2, headDim: 16, ffnDim: 128, qkvBias: true, rope: { base: 1e6, dims: 16, style: 'halves', freqScale: 1 } },
  },
];

type LlamaModel = Awaited<ReturnType<Awaited<ReturnType<ReturnType<typeof oracleFile>['llama']>>['loadModel']>>;
type Probs = Map<number, number>;

async function llamaProbs(model: LlamaModel, ids: readonly number[], each: (pos: number, p: Probs | undefined) => void): Promise<void> {
  const ctx = await model.createContext({ contextSize: ids.length + 1, threads: 1, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false });
  try {
    const seq = ctx.getSequence();
    for (let i = 0; i < ids.length; i += 40) {
      const items = ids.slice(i, i + 40).map((id, j) => [
        id,
        { generateNext: (i + j) % FULL_EVERY === 0 ? { probabilities: true } : { probabilities: true, options: { temperature: 1, topK: TOP_K, topP: 1, minP: 0 } } },
      ] as const);
      const res = await seq.controlledEvaluate(items as never);
      res.forEach((r, j) => each(i + j, (r as { next?: { probabilities?: Probs } } | undefined)?.next?.probabilities));
    }
  } finally {
    await ctx.dispose();
  }
}

async function llamaGreedy(model: LlamaModel, prompt: readonly number[], n: number): Promise<number[]> {
  const ctx = await model.createContext({ contextSize: prompt.length + n + 2, threads: 1, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false });
  try {
    const out: number[] = [];
    for await (const id of ctx.getSequence().evaluate(prompt as never, { temperature: 0 })) {
      out.push(id);
      if (out.length >= n) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

function ourLogits(m: LoadedModel, ids: readonly number[]): Float32Array[] {
  const rows: Float32Array[] = [];
  new Session(m.model, scalarOps, { cache: { policy: 'dense' }, batchSize: 32 }).evaluate(ids, (_, row) => rows.push(Float32Array.from(row)));
  return rows;
}

async function check(t: TestContext, c: Case): Promise<void> {
  const vocabPath = needFixture(t, c.vocab);
  if (vocabPath === undefined) return;
  const weights = join(file.dir, `${c.name}.weights.gguf`);
  writeRandomModel(weights, { hparams: c.hp, seed: 21, logitScale: 2, ...(c.tied === true ? { tiedOutput: true } : {}) });
  const tok = c.kind === 'spm' ? spmTokenizerJson(vocabPath) : bpeTokenizerJson(vocabPath, c.kind === 'falcon' ? PRE_TOKENIZERS.falcon : PRE_TOKENIZERS.gpt2);
  const folder = join(file.dir, c.name);
  hfDirFromGguf(weights, folder, { tokenizer: tok.tokenizer, tokenizerConfig: tok.config });
  const out = join(file.dir, `${c.name}.converted.gguf`);
  const r = convertHf({ dir: folder, output: out });
  assert.ok(r.tokenizer);

  const ours = loadModel(folder);
  assert.ok(ours.tokenizer !== undefined);
  const lm = await (await file.llama()).loadModel({ modelPath: out });
  try {
    await t.test(`${c.name}: llama.cpp on the converted GGUF = streamllm on the folder, within ${TOL}`, async (tt) => {
      const ids = randomStream(c.hp.vocabSize, TOKENS, 3);
      const mine = ourLogits(ours, ids);
      const cmp = new ProbCompare();
      await llamaProbs(lm, ids, (pos, p) => cmp.add(pos, mine[pos]!, p));
      tt.diagnostic(cmp.report('dense'));
      cmp.check('dense', c.logTol);
    });
    await t.test(`${c.name}: greedy continuations equal`, async () => {
      const prompt = randomStream(c.hp.vocabSize, 8, 4);
      const s = ours.createSession({ cache: { policy: 'dense' }, sampling: { temperature: 0 } });
      s.prefill(prompt);
      const mine = Array.from({ length: 24 }, () => s.step());
      assert.deepEqual(mine, await llamaGreedy(lm, prompt, 24));
    });
    await t.test(`${c.name}: llama.cpp tokenizes like the folder's tokenizer.json`, () => {
      for (const text of TEXTS) assert.deepEqual(ours.tokenizer!.encode(text, { addBos: false }), [...lm.tokenize(text, false)], JSON.stringify(text));
    });
  } finally {
    await lm.dispose();
  }
}

for (const c of CASES) {
  test(`HF ${c.name} → GGUF: llama.cpp loads it and agrees with streamllm on the folder`, async (t) => {
    await check(t, c);
  });
}
