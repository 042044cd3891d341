/**
 * Garbage per decode step: V8's sampling heap profiler (objects collected by
 * the young-generation GC included) over --steps decode steps after a warm-up,
 * reported as sampled bytes per step and the top allocation sites. A decode
 * loop that allocates keeps the GC busy and, on tiny models, shows up as
 * latency spikes; the streaming caches are meant to allocate (almost) nothing.
 *
 *   node --import tsx bench/alloc-profile.ts --model bench/out/llama-110m-q8_0.gguf [--threads 1] [--steps 2000] [--kv-type f16]
 */
import { Session as Inspector } from 'node:inspector/promises';
import { createWasmOps } from '../src/kernels/wasm/index.js';
import { loadModel } from '../src/runtime/load.js';
import { args } from './common.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const a = args();
const file = a.get('model');
if (file === undefined) {
  console.error('usage: alloc-profile.ts --model FILE [--threads 1] [--steps 2000] [--kv-type f32|f16]');
  process.exit(2);
}
const steps = Number(a.get('steps') ?? 2000);
const kvType = (a.get('kv-type') ?? 'f16') as 'f32' | 'f16';
const ops = await createWasmOps({ threads: Number(a.get('threads') ?? 1) });
try {
  const m = loadModel(file, { ops, skipTokenizer: true });
  const s = m.createSession({ cache: { policy: 'sink', kvType }, sampling: { temperature: 0 }, batchSize: 64 });
  s.prefill(Array.from({ length: 32 }, (_, i) => (i + 1) % m.hparams.vocabSize));
  for (let i = 0; i < 200; i++) s.step();
  const inspector = new Inspector();
  inspector.connect();
  await inspector.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  for (let i = 0; i < steps; i++) s.step();
  const { profile } = (await inspector.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
  inspector.disconnect();
  const sites = new Map<string, number>();
  const walk = (n: ProfileNode, stack: string[]): void => {
    const f = n.callFrame;
    const frames = [...stack, `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`];
    if (n.selfSize > 0) {
      const key = frames.slice(-3).join(' <- ');
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, frames);
  };
  walk(profile.head, []);
  let total = 0;
  for (const v of sites.values()) total += v;
  console.log(`${file} (${ops.name}, ${kvType} sink cache): ${(total / steps).toFixed(0)} sampled bytes per decode step over ${steps} steps`);
  for (const [k, v] of [...sites].sort((x, y) => y[1] - x[1]).slice(0, 10)) console.log(`${(v / steps).toFixed(0).padStart(7)}  ${k}`);
} finally {
  await ops.close();
}
