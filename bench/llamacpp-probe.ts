/**
 * One llama.cpp measurement in its own process (so its RSS is its own):
 *   node --import tsx bench/llamacpp-probe.ts FILE THREADS PROMPT GEN [REPS]
 * Prints one JSON object with the keys `streamllm bench --json` uses.
 * node-llama-cpp 3.21.1 defaults (F16 KV cache, flash attention auto): llama.cpp as users run it.
 * Like `streamllm bench` (and llama-bench), one untimed pass of the same prompt runs first,
 * then timed passes by the same rule (src/eval/passes.ts: REPS, or ~1 s of them), medians reported.
 */
import { getLlama, type Token } from 'node-llama-cpp';
import { GgufFile } from '../src/formats/gguf/reader.js';
import { median, morePasses } from '../src/eval/passes.js';

const [file, threadsArg, promptArg, genArg, repsArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: llamacpp-probe.ts FILE THREADS PROMPT GEN [REPS]');
  process.exit(2);
}
const threads = Number(threadsArg ?? 1);
const promptN = Number(promptArg ?? 128);
const gen = Number(genArg ?? 64);
const reps = repsArg === undefined ? undefined : Number(repsArg);
if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1)) {
  console.error(`REPS must be a whole number >= 1, got ${repsArg}`);
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 0 });
const t0 = performance.now();
const model = await llama.loadModel({ modelPath: file });
const loadS = (performance.now() - t0) / 1000;
const ctx = await model.createContext({ contextSize: promptN + gen + 8, threads, batchSize: Math.max(promptN, 32) });
const seq = ctx.getSequence();
const gf = GgufFile.open(file);
const V = gf.tensor('token_embd.weight')?.dims[1] ?? 32000;
gf.close();
// The same ids `streamllm bench` feeds.
const ids = Array.from({ length: promptN }, (_, i) => (i === 0 ? 1 : (i * 2654435761) % Number(V))) as Token[];
// The same untimed warm-up pass `streamllm bench` runs (the whole prompt and one decode step), then a clean cache.
await seq.evaluateWithoutGeneratingNewTokens(ids);
for await (const _ of seq.evaluate([ids[0]!], { temperature: 0 })) break;
const prefillRates: number[] = [];
const decodeRates: number[] = [];
let timedS = 0;
while (morePasses(prefillRates.length, timedS, reps)) {
  await seq.clearHistory();
  const tp = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(ids);
  const prefillS = (performance.now() - tp) / 1000;
  let n = 0;
  const tg = performance.now();
  for await (const _ of seq.evaluate([ids[ids.length - 1]!], { temperature: 0 })) {
    if (++n >= gen) break;
  }
  const decodeS = (performance.now() - tg) / 1000;
  prefillRates.push(promptN / prefillS);
  decodeRates.push(gen / decodeS);
  timedS += prefillS + decodeS;
}
console.log(
  JSON.stringify({
    model: file,
    engine: 'llama.cpp (node-llama-cpp 3.21.1)',
    threads,
    load_s: loadS,
    prefill_tok_s: median(prefillRates),
    decode_tok_s: median(decodeRates),
    reps: prefillRates.length,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
await ctx.dispose();
await model.dispose();
await llama.dispose();
