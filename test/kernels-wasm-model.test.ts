/**
 * The wasm backend runs the real model: aidreams260K through loadModel with
 * WasmOps (1 and 2 threads) gives the scalar backend's logits (<= 1e-4), the
 * float64 reference logits (<= 1e-3, the foundation issue's bar), and the
 * same greedy text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createWasmOps } from '../src/kernels/wasm/index.js';
import type { Ops } from '../src/kernels/types.js';
import { loadModel, type LoadedModel } from '../src/runtime/index.js';
import { maxAbsDiff } from './helpers/compare.js';
import { needFixture } from './helpers/fixtures.js';

function greedy(m: LoadedModel, prompt: string, steps: number): string {
  const tok = m.tokenizer!;
  const s = m.createSession({ sampling: { temperature: 0 } });
  s.prefill(tok.encode(prompt, { addBos: true }));
  const dec = tok.createStreamDecoder();
  let text = '';
  for (let i = 0; i < steps; i++) text += dec.push(s.step());
  return text + dec.flush();
}

for (const threads of [1, 2]) {
  test(`aidreams260K on wasm x${threads}: logits match scalar and the float64 reference, greedy text matches`, async (t) => {
    const bin = needFixture(t, 'models/aidreams260K.bin');
    const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
    const refPath = needFixture(t, 'reference/aidreams260K.dense-logits.json');
    if (bin === undefined || tok === undefined || refPath === undefined) return;
    // The model is tiny (dim 64): force its matmuls onto the pool so 2 threads really run.
    const ops = await createWasmOps({ threads, minParallelWork: 0 });
    try {
      const wasm = loadModel(bin, { tokenizer: tok, ops });
      const scalar = loadModel(bin, { tokenizer: tok });
      assert.equal((wasm.ops as Ops).name, ops.name);

      const ref = JSON.parse(readFileSync(refPath, 'utf8')) as { inputs: number[]; logits: number[][] };
      const sw = wasm.createSession();
      const ss = scalar.createSession();
      let vsScalar = 0;
      let vsRef = 0;
      for (let pos = 0; pos < ref.inputs.length; pos++) {
        sw.prefill([ref.inputs[pos]!]);
        ss.prefill([ref.inputs[pos]!]);
        const d = maxAbsDiff(sw.logits(), ss.logits());
        assert.ok(d.maxAbsDiff <= 1e-4, `position ${pos}, logit ${d.at}: wasm ${d.ours} vs scalar ${d.ref}`);
        vsScalar = Math.max(vsScalar, d.maxAbsDiff);
        const r = maxAbsDiff(sw.logits(), ref.logits[pos]!);
        assert.ok(r.maxAbsDiff <= 1e-3, `position ${pos}, logit ${r.at}: wasm ${r.ours} vs reference ${r.ref}`);
        vsRef = Math.max(vsRef, r.maxAbsDiff);
      }
      // The whole sequence as one batch takes the tiled-matmul (prefill) path.
      const all = wasm.model.forward(ref.inputs, wasm.createSession().cache, { logits: 'all' });
      const V = wasm.hparams.vocabSize;
      for (let pos = 0; pos < ref.inputs.length; pos++) {
        const r = maxAbsDiff(all.subarray(pos * V, (pos + 1) * V), ref.logits[pos]!);
        assert.ok(r.maxAbsDiff <= 1e-3, `batch position ${pos}: |diff| ${r.maxAbsDiff}`);
      }
      t.diagnostic(`max |logit diff|: vs scalar ${vsScalar.toExponential(2)}, vs float64 reference ${vsRef.toExponential(2)}`);

      for (const prompt of ['', 'The robot dreams of']) {
        assert.equal(greedy(wasm, prompt, 100), greedy(scalar, prompt, 100), `greedy text from "${prompt}"`);
      }
    } finally {
      await ops.close();
    }
  });
}
