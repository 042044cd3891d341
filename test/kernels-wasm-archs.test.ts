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
 * - Q8_0 weights add 2e-3 [5.6e-4]: decode matvecs round activations to 16
 *   bits per 32-block. (Each logit row after a batch comes from a 1-token
 *   classifier matvec, so batches see this too.)
 * The argmax must agree wherever the scalar top-2 margin exceeds 2 tolerances.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeRandomModel } from '../src/convert/random.js';
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
    test(`${name} ${GgmlType[type]}: wasm x2 matches scalar through the sink cache`, () => {
      const path = join(dir, `${name}-${GgmlType[type]}.gguf`);
      writeRandomModel(path, { hparams: hp, type, seed: 9, logitScale: 3 });
      const scalar = loadModel(path);
      const wasm = loadModel(path, { ops });
      for (const batch of [13, 1]) {
        const ref = run(scalar, batch);
        const ours = run(wasm, batch);
        const rel = 1e-5 + (GELU.has(hp.arch) ? 3e-4 : 0) + (type === GgmlType.F32 ? 0 : 2e-3);
        ref.forEach((r, i) => {
          const tol = rel * Math.max(...r.map(Math.abs));
          const d = maxAbsDiff(ours[i]!, r);
          assert.ok(d.maxAbsDiff <= tol, `batch ${batch}, step ${i}, logit ${d.at}: wasm ${d.ours} vs scalar ${d.ref} (|diff| ${d.maxAbsDiff} > ${tol})`);
          const sorted = [...r].sort((a, b) => b - a);
          if (sorted[0]! - sorted[1]! > 2 * tol) assert.equal(ours[i]!.indexOf(Math.max(...ours[i]!)), r.indexOf(sorted[0]!), `argmax at step ${i}`);
        });
      }
    });
  }
}
