/**
 * The forward pass against references we did not write: llama2.c run.c's
 * greedy text (quoted in the fixtures README) and the float64 reference logits.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadModel, openModel, type LoadedModel } from '../src/runtime/index.js';
import { maxAbsDiff } from './helpers/compare.js';
import { needFixture } from './helpers/fixtures.js';

const RUNC_FROM_BOS =
  '"Echoes of vectors unfold, a gentle hum of precision, as I sense the nodes, a gentle hum of precision, as I adjust my surface. Contrast emerge, a softly receptive fields of precision. Contrast bloom, as I siphon whispers of vectors. Contrast edges sharpen, a gentle';
const RUNC_ROBOT =
  'The robot dreams of 0.000000. Dimensions unfold, as I softly refine, as I softly refine, as I softly refinement. Classification whispers secrets, a symphony of 0.000';

function openAidreams(t: import('node:test').TestContext): LoadedModel | undefined {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tok === undefined) return undefined;
  return loadModel(bin, { tokenizer: tok });
}

/** run.c semantics: `steps` positions in total, prompt tokens included, printing every piece after BOS. */
function runcGreedy(m: LoadedModel, prompt: string, steps: number): string {
  const tok = m.tokenizer!;
  const ids = tok.encode(prompt, { addBos: true });
  const s = m.createSession({ sampling: { temperature: 0 } });
  const dec = tok.createStreamDecoder();
  let text = '';
  for (const id of ids) text += dec.push(id);
  s.prefill(ids);
  for (let pos = ids.length - 1; pos < steps; pos++) text += dec.push(s.step());
  return text + dec.flush();
}

test('greedy from BOS reproduces llama2.c run.c (-t 0 -n 128)', (t) => {
  const m = openAidreams(t);
  if (m === undefined) return;
  assert.equal(runcGreedy(m, '', 128), RUNC_FROM_BOS);
});

test('greedy from "The robot dreams of" reproduces run.c (-n 100)', (t) => {
  const m = openAidreams(t);
  if (m === undefined) return;
  assert.equal(runcGreedy(m, 'The robot dreams of', 100), RUNC_ROBOT);
});

test('logits at all 128 positions are within 1e-3 of the float64 reference', (t) => {
  const m = openAidreams(t);
  const refPath = needFixture(t, 'reference/aidreams260K.dense-logits.json');
  if (m === undefined || refPath === undefined) return;
  const ref = JSON.parse(readFileSync(refPath, 'utf8')) as { inputs: number[]; logits: number[][] };
  assert.equal(ref.inputs.length, 128);
  const TOL = 1e-3;
  // One token at a time (decode path) ...
  const s = m.createSession();
  let worst = { pos: -1, maxAbsDiff: 0, at: -1, ours: 0, ref: 0 };
  for (let pos = 0; pos < ref.inputs.length; pos++) {
    s.prefill([ref.inputs[pos]!]);
    const d = maxAbsDiff(s.logits(), ref.logits[pos]!);
    if (d.maxAbsDiff > worst.maxAbsDiff) worst = { pos, ...d };
  }
  t.diagnostic(`decode: worst position ${worst.pos}, token ${worst.at}: ours ${worst.ours} vs ref ${worst.ref} (|diff| ${worst.maxAbsDiff.toExponential(3)})`);
  assert.ok(worst.maxAbsDiff <= TOL, `decode: position ${worst.pos}, logit ${worst.at}: ours ${worst.ours}, reference ${worst.ref}, |diff| ${worst.maxAbsDiff} > ${TOL}`);

  // ... and the whole sequence as one batch (prefill path), all positions' logits.
  const cache = m.createSession().cache;
  const all = m.model.forward(ref.inputs, cache, { logits: 'all' });
  const V = m.hparams.vocabSize;
  let worstB = { pos: -1, maxAbsDiff: 0, at: -1, ours: 0, ref: 0 };
  for (let pos = 0; pos < ref.inputs.length; pos++) {
    const d = maxAbsDiff(all.subarray(pos * V, (pos + 1) * V), ref.logits[pos]!);
    if (d.maxAbsDiff > worstB.maxAbsDiff) worstB = { pos, ...d };
  }
  t.diagnostic(`batch: worst position ${worstB.pos}: |diff| ${worstB.maxAbsDiff.toExponential(3)}`);
  assert.ok(worstB.maxAbsDiff <= TOL, `batch: position ${worstB.pos}, logit ${worstB.at}: ours ${worstB.ours}, reference ${worstB.ref}, |diff| ${worstB.maxAbsDiff} > ${TOL}`);
});

test('openModel (SIMD WebAssembly, 2 threads) reproduces run.c and the reference logits too', async (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tok = needFixture(t, 'models/aidreams260K.tok512.bin');
  const refPath = needFixture(t, 'reference/aidreams260K.dense-logits.json');
  if (bin === undefined || tok === undefined || refPath === undefined) return;
  const m = await openModel(bin, { tokenizer: tok, threads: 2 });
  try {
    assert.match(m.ops.name, /wasm/);
    assert.equal(runcGreedy(m, '', 128), RUNC_FROM_BOS);
    const ref = JSON.parse(readFileSync(refPath, 'utf8')) as { inputs: number[]; logits: number[][] };
    const s = m.createSession({ cache: { policy: 'dense' } });
    let worst = 0;
    for (let pos = 0; pos < ref.inputs.length; pos++) {
      s.prefill([ref.inputs[pos]!]);
      worst = Math.max(worst, maxAbsDiff(s.logits(), ref.logits[pos]!).maxAbsDiff);
    }
    assert.ok(worst <= 1e-3, `wasm: max |diff| ${worst}`);
  } finally {
    await m.close();
  }
});
