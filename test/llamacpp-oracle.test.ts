/**
 * llama.cpp as an oracle (node-llama-cpp 3.21.1, CPU only, F32 KV cache, flash
 * attention off): the aidreams checkpoint converted by `streamllm convert`
 * must load in llama.cpp, give the same greedy continuation, and the same
 * next-token probabilities at every position.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadModel } from '../src/runtime/index.js';
import { maxAbsDiff, softmax64 } from './helpers/compare.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';

const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'streamllm-oracle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('llama.cpp agrees with us on the converted aidreams260K GGUF', async (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tokBin = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tokBin === undefined) return;
  const gguf = join(dir, 'aidreams260K.gguf');
  execFileSync(process.execPath, [CLI, 'convert', '--from', 'llama2c', bin, '--tokenizer', tokBin, '-o', gguf], { stdio: 'pipe' });

  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 0 });
  try {
    const lm = await llama.loadModel({ modelPath: gguf });
    const ctx = await lm.createContext({
      contextSize: 129, // llama.cpp never fills the last cell: 128 usable
      threads: 1,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
      flashAttention: false,
    });
    const ours = loadModel(gguf);
    const N = 120;

    await t.test('greedy continuation from BOS, 120 tokens', async () => {
      const seq = ctx.getSequence();
      const theirs: number[] = [];
      for await (const id of seq.evaluate([1 as never], { temperature: 0 })) {
        theirs.push(id);
        if (theirs.length >= N) break;
      }
      seq.dispose();
      const s = ours.createSession({ sampling: { temperature: 0 } });
      s.prefill([1]);
      const mine: number[] = [];
      for (let i = 0; i < N; i++) mine.push(s.step());
      const first = mine.findIndex((id, i) => id !== theirs[i]);
      assert.equal(first, -1, `first difference at token ${first}: ours ${mine[first]}, llama.cpp ${theirs[first]}`);
      assert.equal(theirs.length, N);
    });

    await t.test('next-token probabilities at every position within 1e-4', async () => {
      // Score the greedy text plus a stretch of prompt-driven text so tokens are not all argmax.
      const tok = ours.tokenizer!;
      const seqIds = [1, ...tok.encode('The robot dreams of quiet vectors, and the nodes hum softly in the dark.', { addBos: false })];
      const s0 = ours.createSession({ sampling: { temperature: 0 } });
      s0.prefill(seqIds);
      while (seqIds.length < 128) seqIds.push(s0.step());
      const seq = ctx.getSequence();
      const res = await seq.controlledEvaluate(seqIds.map((id) => [id, { generateNext: { probabilities: true } }] as const) as never);
      seq.dispose();
      const s = ours.createSession();
      const V = ours.hparams.vocabSize;
      let worst = { pos: -1, maxAbsDiff: 0, at: -1, ours: 0, ref: 0 };
      for (let pos = 0; pos < seqIds.length; pos++) {
        s.prefill([seqIds[pos]!]);
        const p = softmax64(s.logits());
        const map = (res[pos] as { next?: { probabilities?: Map<number, number> } } | undefined)?.next?.probabilities;
        assert.ok(map !== undefined, `llama.cpp returned no probabilities at position ${pos}`);
        const ref = new Float64Array(V);
        for (const [id, pr] of map) ref[id] = pr;
        const d = maxAbsDiff(p, ref);
        if (d.maxAbsDiff > worst.maxAbsDiff) worst = { pos, ...d };
      }
      t.diagnostic(`worst position ${worst.pos}, token ${worst.at}: ours ${worst.ours} vs llama.cpp ${worst.ref} (|diff| ${worst.maxAbsDiff.toExponential(3)})`);
      assert.ok(worst.maxAbsDiff <= 1e-4, `position ${worst.pos}, token ${worst.at}: ours ${worst.ours}, llama.cpp ${worst.ref}`);
    });
    await ctx.dispose();
    await lm.dispose();
  } finally {
    await llama.dispose();
  }
});
