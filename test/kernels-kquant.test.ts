/**
 * Q4_K and Q6_K follow ggml's block layouts exactly: hand-packed blocks
 * decode to the values the layout description says (scalar dequantize and
 * wasm getRows alike), our quantizers round-trip, and llama.cpp computes the
 * same next-token distribution as we do on a random model stored in each
 * format (a layout mistake would scramble weights and decorrelate them).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRandomModel } from '../src/convert/random.js';
import { GgufFile } from '../src/formats/gguf/index.js';
import type { GgufEntry } from '../src/formats/gguf/types.js';
import { ScalarOps } from '../src/kernels/scalar.js';
import { createWasmOps } from '../src/kernels/wasm/index.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel } from '../src/runtime/index.js';
import { SeededRng } from '../src/sampling/rng.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { f32ToF16 } from '../src/tensor/half.js';
import { dequantize, quantize } from '../src/tensor/quant.js';
import { needFixture, PROJECT_ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const h16 = (v: number) => [f32ToF16(v) & 0xff, f32ToF16(v) >> 8];

/** One Q4_K block with d = 1, dmin = 0.5, given 6-bit scales/mins, and q(e) = 7e mod 16. */
function q4kBlock(sc: number[], mn: number[]): { bytes: Uint8Array; want: Float32Array } {
  const b = new Uint8Array(144);
  b.set([...h16(1), ...h16(0.5)], 0);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      b[4 + j] = (b[4 + j]! & 0xc0) | sc[j]!;
      b[8 + j] = (b[8 + j]! & 0xc0) | mn[j]!;
    } else {
      b[8 + j] = (sc[j]! & 15) | ((mn[j]! & 15) << 4);
      b[4 + j - 4] = b[4 + j - 4]! | ((sc[j]! >> 4) << 6);
      b[4 + j] = b[4 + j]! | ((mn[j]! >> 4) << 6);
    }
  }
  const want = new Float32Array(256);
  for (let e = 0; e < 256; e++) {
    const q = (7 * e) % 16;
    const j = e >> 5; // sub-block
    const chunk = e >> 6; // 32 bytes of qs per 64 values: low nibbles first, then high
    b[16 + 32 * chunk + (e & 31)] = b[16 + 32 * chunk + (e & 31)]! | (q << (j % 2 === 0 ? 0 : 4));
    want[e] = sc[j]! * q - 0.5 * mn[j]!;
  }
  return { bytes: b, want };
}

/** One Q6_K block with d = 0.25, given int8 scales, and q(e) = 11e mod 64. */
function q6kBlock(scales: number[]): { bytes: Uint8Array; want: Float32Array } {
  const b = new Uint8Array(210);
  b.set(h16(0.25), 208);
  scales.forEach((s, i) => (b[192 + i] = s & 0xff));
  const want = new Float32Array(256);
  for (let e = 0; e < 256; e++) {
    const q = (11 * e) % 64;
    const half = e >> 7;
    const g = (e >> 5) & 3; // which 32 of the half
    const l = e & 31;
    const ql = 64 * half + 32 * (g & 1) + l;
    b[ql] = b[ql]! | ((q & 15) << (g < 2 ? 0 : 4));
    b[128 + 32 * half + l] = b[128 + 32 * half + l]! | ((q >> 4) << (2 * g));
    want[e] = 0.25 * scales[e >> 4]! * (q - 32);
  }
  return { bytes: b, want };
}

test('hand-packed Q4_K and Q6_K blocks decode as the layouts say (scalar and wasm)', async () => {
  const cases = [
    { type: GgmlType.Q4_K, ...q4kBlock([1, 2, 3, 4, 17, 33, 50, 63], [0, 5, 10, 15, 20, 40, 60, 63]) },
    { type: GgmlType.Q6_K, ...q6kBlock([-128, 127, -1, 5, 9, -20, 33, 64, 1, 2, -3, 4, 100, -100, 7, 0]) },
  ];
  const ops = await createWasmOps({ threads: 1 });
  try {
    for (const { type, bytes, want } of cases) {
      const got = new Float32Array(256);
      dequantize(type, bytes, 0, got, 0, 256);
      assert.deepEqual(Array.from(got), Array.from(want), `${GgmlType[type]} scalar`);
      const data = ops.alloc(bytes.length);
      data.set(bytes);
      const row = ops.allocF32(256);
      ops.getRows(row, { name: 'b', type, rows: 1, cols: 256, data }, [0]);
      assert.deepEqual(Array.from(row), Array.from(want), `${GgmlType[type]} wasm`);
    }
  } finally {
    await ops.close();
  }
});

test('Q4_K and Q6_K quantizers round-trip with the precision their bits allow', () => {
  const rng = new SeededRng(5);
  const x = Float32Array.from({ length: 4 * 256 }, () => (rng.nextFloat() * 2 - 1) * (1 + rng.nextFloat()));
  // On uniform data an ideal 16-level grid has RMS error range/15/sqrt(12), 6.7% of the RMS
  // value; 64 levels about 1.6%. Our quantizers' 6-bit scales and mins may add a little.
  for (const [type, maxRel] of [[GgmlType.Q4_K, 0.075], [GgmlType.Q6_K, 0.018]] as const) {
    const y = new Float32Array(x.length);
    const q = quantize(type, x);
    assert.equal(q.length, (x.length / 256) * (type === GgmlType.Q4_K ? 144 : 210));
    dequantize(type, q, 0, y, 0, x.length);
    let err = 0;
    let ref = 0;
    for (let i = 0; i < x.length; i++) {
      err += (x[i]! - y[i]!) ** 2;
      ref += x[i]! ** 2;
    }
    const rel = Math.sqrt(err / ref);
    assert.ok(rel < maxRel, `${GgmlType[type]}: relative RMS error ${rel}`);
  }
  assert.throws(() => quantize(GgmlType.Q4_K, new Float32Array(100)), { code: 'BAD_ARGUMENT' });
});

test('llama.cpp agrees with us on random models stored as Q4_K and Q6_K', async (t) => {
  const bin = needFixture(t, 'models/aidreams260K.bin');
  const tokBin = needFixture(t, 'models/aidreams260K.tok512.bin');
  if (bin === undefined || tokBin === undefined) return;
  const dir = tempDir();
  // Borrow a real tokenizer (llama.cpp will not load a model without one).
  const conv = join(dir, 'aidreams.gguf');
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'convert', '--from', 'llama2c', bin, '--tokenizer', tokBin, '-o', conv], { stdio: 'pipe' });
  const f = GgufFile.open(conv);
  const vocab = [...f.metadata.entries()].filter(([k]) => k.startsWith('tokenizer.')) as [string, GgufEntry][];
  f.close();
  const hp = {
    arch: 'llama', vocabSize: 512, dim: 256, layers: 2, nHeads: 4, kvHeads: 4, headDim: 64, ffnDim: 512,
    contextLength: 128, normEps: 1e-5, rope: { base: 10000, dims: 64, style: 'adjacent', freqScale: 1 },
  } as Hparams;
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 0 });
  try {
    for (const type of [GgmlType.Q4_K, GgmlType.Q6_K]) {
      const path = join(dir, `random-${GgmlType[type]}.gguf`);
      writeRandomModel(path, { hparams: hp, type, seed: 3, metadata: vocab, logitScale: 4 });
      const lm = await llama.loadModel({ modelPath: path });
      const ctx = await lm.createContext({ contextSize: 64, threads: 1, flashAttention: false });
      const ids = [1, 40, 300, 7, 99, 250, 17, 400];
      const seq = ctx.getSequence();
      const res = await seq.controlledEvaluate(ids.map((id) => [id, { generateNext: { probabilities: true } }] as const) as never);
      const s = loadModel(path, { ops: new ScalarOps({ q8Activations: 'decode' }) }).createSession();
      let worst = 1;
      for (let pos = 0; pos < ids.length; pos++) {
        s.prefill([ids[pos]!]);
        const lg = s.logits();
        const max = Math.max(...lg);
        const lse = max + Math.log(lg.reduce((a, v) => a + Math.exp(v - max), 0));
        const probs = (res[pos] as { next?: { probabilities?: Map<number, number> } }).next!.probabilities!;
        const ours = Array.from(lg, (v) => v - lse);
        const theirs = ours.map((_, i) => Math.log(Math.max(probs.get(i) ?? 0, 1e-30)));
        worst = Math.min(worst, correlation(ours, theirs));
      }
      t.diagnostic(`${GgmlType[type]}: worst log-probability correlation with llama.cpp ${worst.toFixed(5)}`);
      // Both quantize activations to Q8_K and sum as ggml's x86 kernels do (q8Activations 'decode');
      // the other ops' last-bit differences can still move a code now and then: close, not identical.
      assert.ok(worst > 0.999, `${GgmlType[type]}: log-probabilities correlate only ${worst} with llama.cpp's`);
      seq.dispose();
      await ctx.dispose();
      await lm.dispose();
    }
  } finally {
    await llama.dispose();
  }
});

function correlation(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}
