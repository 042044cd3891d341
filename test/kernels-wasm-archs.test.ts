/**
 * Every architecture runs on the wasm backend: random models of each family
 * (so RMSNorm/LayerNorm, adjacent/halves RoPE, ALiBi, SwiGLU/GELU, biases and
 * GQA all go through WasmOps) give the scalar backend's logits through the
 * StreamingLLM cache, token by token and in batches. Tolerances are relative
 * to the largest |logit| (observed worst cases in brackets):
 * - F32 weights: 1e-5 [1e-6] — f32 lane sums against float64.
 * - GELU families (gptneox, falcon, mpt) add 3e-4 [9e-5]: they reproduce
 *   ggml's fp16 GELU table, where a 1e-7 input difference can move the
 *   f16-rounded input by one ulp (~1e-3 relative) and the output with it.
 * - Q8_0 weights add 2e-2 [8.8e-3 mpt, 6.3e-3 gptneox, ~1e-7 the others]:
 *   both backends round activations to 8-bit codes as ggml does (the
 *   scalar one with q8Activations 'always', the wasm default), in decode
 *   and in batches, and their f32 roundings differ in the last bits (f32
 *   lanes against float64, wasm's f32 prefill panels against exact integer
 *   sums, the exp polynomial against Math.exp). Once in a while an
 *   activation sits so close to a rounding boundary that the two give it
 *   codes one apart, which moves later logits by up to about 1e-2 of the
 *   largest; a wrong kernel moves them by tens of percent.
 * The argmax must agree wherever the scalar top-2 margin exceeds 2 tolerances.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeRandomModel } from '../src/convert/random.js';
import { ScalarOps } from '../src/kernels/scalar.js';
import { createWasmOps, type WasmOps } from '../src/kernels/wasm/index.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel, type LoadedModel } from '../src/runtime/index.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { maxAbsDiff } from './helpers/compare.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
// dim and ffn are multiples of 32 so that Q8_0 applies to every matrix.
const common = { vocabSize: 96, dim: 64, layers: 2, nHeads: 4, kvHeads: 4, headDim: 16, ffnDim: 96, contextLength: 64, normEps: Math.fround(1e-5) } as const;
const rope = (style: 'adjacent' | 'halves', dims = 16) => ({ base: 10000, dims, style, freqScale: 1 }) as const;
const MODELS: Record<string, Hparams> = {
  llama: { arch: 'llama', ...common, kvHeads: 2, rope: rope('adjacent') },
  qwen2: { arch: 'qwen2', ...common, kvHeads: 2, rope: rope('halves'), qkvBias: true },
  gptneox: { arch: 'gptneox', ...common, rope: rope('halves', 8), parallelResidual: true },
  falcon: { arch: 'falcon', ...common, kvHeads: 1, rope: rope('halves'), separateAttnNorm: false },
  mpt: { arch: 'mpt', ...common, alibiMaxBias: 8, clampKqv: 0.5, bias: false },
};
const GELU = new Set(['gptneox', 'falcon', 'mpt']);
const CACHE = { policy: 'sink', sinks: 4, window: 28 } as const;
const stream = Array.from({ length: 80 }, (_, i) => (i * 37 + 11) % common.vocabSize);

const scalarQ8 = new ScalarOps({ q8Activations: 'always' });
let ops: WasmOps;
before(async () => {
  // Tiny matrices: force them onto the pool so both threads really run.
  ops = await createWasmOps({ threads: 2, minParallelWork: 0 });
});
after(async () => {
  await ops.close();
});

/** Logits after each chunk of `batch` tokens of the stream. */
function run(m: LoadedModel, batch: number): Float32Array[] {
  const s = m.createSession({ cache: CACHE, batchSize: batch });
  const out: Float32Array[] = [];
  for (let i = 0; i < stream.length; i += batch) {
    s.prefill(stream.slice(i, i + batch));
    out.push(Float32Array.from(s.logits()));
  }
  return out;
}

for (const [name, hp] of Object.entries(MODELS)) {
  for (const type of [GgmlType.F32, GgmlType.Q8_0]) {
    test(`${name} ${GgmlType[type]}: wasm x2 matches scalar through the sink cache`, (t) => {
      const path = join(dir, `${name}-${GgmlType[type]}.gguf`);
      writeRandomModel(path, { hparams: hp, type, seed: 9, logitScale: 3 });
      // The scalar oracle of the wasm default (q8Activations 'always': ggml's activation rounding at every n).
      const scalar = loadModel(path, { ops: scalarQ8 });
      const wasm = loadModel(path, { ops });
      let worst = 0;
      for (const batch of [13, 1]) {
        const ref = run(scalar, batch);
        const ours = run(wasm, batch);
        const rel = 1e-5 + (GELU.has(hp.arch) ? 3e-4 : 0) + (type === GgmlType.F32 ? 0 : 2e-2);
        ref.forEach((r, i) => {
          const big = Math.max(...r.map(Math.abs));
          const tol = rel * big;
          const d = maxAbsDiff(ours[i]!, r);
          worst = Math.max(worst, d.maxAbsDiff / big);
          assert.ok(d.maxAbsDiff <= tol, `batch ${batch}, step ${i}, logit ${d.at}: wasm ${d.ours} vs scalar ${d.ref} (|diff| ${d.maxAbsDiff} > ${tol})`);
          const sorted = [...r].sort((a, b) => b - a);
          if (sorted[0]! - sorted[1]! > 2 * tol) assert.equal(ours[i]!.indexOf(Math.max(...ours[i]!)), r.indexOf(sorted[0]!), `argmax at step ${i}`);
        });
      }
      t.diagnostic(`worst |wasm - scalar| / max|logit|: ${worst.toExponential(2)}`);
    });
  }
}
