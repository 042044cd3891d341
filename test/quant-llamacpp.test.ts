/**
 * Quantized weights against llama.cpp on the same quantized file: a random
 * Llama in Q8_0, Q4_0, Q4_K and Q6_K, written by our GGUF writer, run by
 * llama.cpp (node-llama-cpp 3.21.1, F32 KV, flash attention off) and by our
 * SIMD WebAssembly backend. Both quantize activations the ggml way (Q8_0 /
 * Q8_K) with the same summation order, so most positions agree to ~1e-7; an
 * activation within an ulp of a rounding boundary can still land one code
 * apart (the engines' softmax/RoPE/exp differ in the last bits). On a tiny
 * model one such code moves a probability by ~1e-2, so the model is given a
 * realistic width (512) where one code matters less; the bound is 1e-2.
 *
 * Every type must also agree to f32 rounding at most positions (median
 * |diff| <= 1e-5): that is what shows the integer arithmetic is llama.cpp's.
 * Q4_K is held to 5e-2, not 1e-2, and the reason is known: on this seed one
 * activation lands one Q8_K code apart at position 41 (22 if llama.cpp is
 * fed token by token), and a 4-bit model moves more per code. Read against
 * llama.cpp's AVX2 ggml_gemv_q4_K_8x8_q8_K, our Q4_K arithmetic is the same
 * (exact integer sub-block dots times scales, mins times pairwise bsums, one
 * fma per super-block); the flip comes from another op's last bits.
 * Measured (2026-11-27): worst |diff| Q8_0 3.1e-3, Q4_0 5.1e-7, Q6_K 3.6e-3,
 * Q4_K 1.8e-2.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { syntheticSpmVocab, writeRandomModel } from '../src/convert/random.js';
import type { Hparams } from '../src/models/types.js';
import { openModel, type OpenedModel } from '../src/runtime/index.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { spmVocabToGgufMetadata } from '../src/tokenizer/index.js';
import { maxAbsDiff, softmax64 } from './helpers/compare.js';
import { REQUIRE_FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
const HP: Hparams = {
  arch: 'llama',
  vocabSize: 512,
  dim: 128,
  layers: 2,
  nHeads: 4,
  kvHeads: 2,
  headDim: 32,
  ffnDim: 256,
  contextLength: 128,
  normEps: 1e-5,
  rope: { base: 10000, dims: 32, style: 'adjacent', freqScale: 1 },
};
type Llama = Awaited<ReturnType<(typeof import('node-llama-cpp'))['getLlama']>>;
let llama: Llama | undefined;
let whyNot = '';
before(async () => {
  try {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    llama = await getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: LlamaLogLevel.error });
  } catch (e) {
    whyNot = `node-llama-cpp cannot load here: ${String(e).split('\n')[0]}`;
    if (REQUIRE_FIXTURES) throw new Error(whyNot, { cause: e });
  }
});
after(async () => llama?.dispose());

const ids = Array.from({ length: 64 }, (_, i) => (i === 0 ? 1 : 3 + ((i * 7919) % 509)));

// Every type on the default kernel build; Q4_0, whose code differs between builds, on the plain SIMD128 one too.
const CASES: [GgmlType, 'auto' | 'simd'][] = [[GgmlType.Q8_0, 'auto'], [GgmlType.Q4_0, 'auto'], [GgmlType.Q4_0, 'simd'], [GgmlType.Q4_K, 'auto'], [GgmlType.Q6_K, 'auto']];
for (const [type, simd] of CASES) {
  test(`${GgmlType[type]}${simd === 'simd' ? ' (plain SIMD128 build)' : ''}: next-token probabilities within ${type === GgmlType.Q4_K ? '5e-2 (see above)' : '1e-2'} of llama.cpp on the same file`, async (t) => {
    if (llama === undefined) return t.skip(whyNot);
    const path = join(dir, `q-${GgmlType[type]}-${simd}.gguf`);
    // K-quants need rows of 256: widen the matrices that feed them.
    const hp = { ...HP, dim: 512, ffnDim: 1024, nHeads: 8, kvHeads: 4, headDim: 64, rope: { ...HP.rope, dims: 64 } };
    writeRandomModel(path, { hparams: hp, type, seed: 5, logitScale: 3, metadata: spmVocabToGgufMetadata(syntheticSpmVocab(512)) });
    const lm = await llama.loadModel({ modelPath: path });
    const ctx = await lm.createContext({ contextSize: 129, threads: 1, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false });
    const seq = ctx.getSequence();
    const res = await seq.controlledEvaluate(ids.map((id) => [id, { generateNext: { probabilities: true } }] as const) as never);
    let ours: OpenedModel | undefined;
    try {
      ours = await openModel(path, { threads: 1, simd });
      const s = ours.createSession({ cache: { policy: 'dense' } });
      let worst = { pos: -1, maxAbsDiff: 0, at: -1, ours: 0, ref: 0 };
      const perPos: number[] = [];
      for (let pos = 0; pos < ids.length; pos++) {
        s.prefill([ids[pos]!]);
        const map = (res[pos] as { next?: { probabilities?: Map<number, number> } } | undefined)?.next?.probabilities;
        assert.ok(map !== undefined, `no probabilities at ${pos}`);
        const ref = new Float64Array(hp.vocabSize);
        for (const [id, p] of map) ref[id] = p;
        const d = maxAbsDiff(softmax64(s.logits()), ref);
        perPos.push(d.maxAbsDiff);
        if (d.maxAbsDiff > worst.maxAbsDiff) worst = { pos, ...d };
      }
      // Where the engines part: f32 rounding alone stays near 1e-6; a jump means some activation got a
      // different 8-bit code (and a K/V entry computed from it stays in the cache for later positions).
      const far = perPos.flatMap((v, i) => (v > 1e-4 ? [i] : []));
      const median = [...perPos].sort((a, b) => a - b)[perPos.length >> 1]!;
      t.diagnostic(`median |diff| over positions ${median.toExponential(2)}; positions above 1e-4: ${far.length === 0 ? 'none' : `${far.length}, from position ${far[0]}`}`);
      t.diagnostic(`worst position ${worst.pos}, token ${worst.at}: ours ${worst.ours.toFixed(5)} vs llama.cpp ${worst.ref.toFixed(5)} (|diff| ${worst.maxAbsDiff.toExponential(2)})`);
      assert.ok(median <= 1e-5, `median |diff| ${median}: the arithmetic itself differs`);
      const bound = type === GgmlType.Q4_K ? 5e-2 : 1e-2;
      assert.ok(worst.maxAbsDiff <= bound, `position ${worst.pos}, token ${worst.at}: ${worst.ours} vs ${worst.ref} (bound ${bound})`);
    } finally {
      await ours?.close();
      await ctx.dispose();
      await lm.dispose();
    }
  });
}
