/** `streamllm bench`: load time, prefill and decode speed, peak RSS on one model file. */
import type { Command } from 'commander';
import { loadModel } from '../runtime/load.js';
import { DEFAULT_KV_TYPE, type KvType } from '../cache/types.js';
import { addKvTypeFlag } from './cache-flags.js';
import { addEngineFlags, engineOpsFrom, type EngineFlags } from './engine-flags.js';
import { AUTO_PASS_SECONDS, MAX_AUTO_PASSES, median, morePasses } from '../eval/passes.js';
import { info, intArg, progressBar } from './util.js';

interface BenchFlags extends EngineFlags {
  model: string;
  prompt: number;
  gen: number;
  json?: boolean;
  warmup: boolean;
  reps?: number;
  kvType?: KvType;
}

export function registerBench(program: Command): void {
  const cmd = program
    .command('bench')
    .description('measure load time, prefill and decode tokens/s, and peak RSS (sink cache, greedy, fixed token ids)')
    .requiredOption('-m, --model <file>', 'model file: GGUF, or llama2.c checkpoint (.bin)')
    .option('--prompt <n>', 'prompt tokens to prefill', intArg('--prompt', 1, 1 << 20), 128)
    .option('--gen <n>', 'tokens to decode', intArg('--gen', 1, 1 << 20), 64)
    .option('--json', 'print one JSON object: load_s, prefill_tok_s, decode_tok_s, peak_rss_mb (and kv_type, kv_cache_mb, …)')
    .option('--reps <n>', `timed passes (reset, prefill, decode), medians reported (default: as many as fit in ~${AUTO_PASS_SECONDS} s, at most ${MAX_AUTO_PASSES})`, intArg('--reps', 1, 1000))
    .option('--no-warmup', 'time the very first prefill and decode too (by default one untimed pass of the same prompt runs first); one timed pass unless --reps is given');
  addEngineFlags(addKvTypeFlag(cmd)).action(async (f: BenchFlags) => {
    const ops = await engineOpsFrom(f, f.model);
    try {
      const t0 = performance.now();
      // Token ids only: the tokenizer is not built (a 32000-token vocabulary is a few MiB of heap).
      const m = loadModel(f.model, { ops, onProgress: progressBar('loading'), skipTokenizer: true });
      const loadS = (performance.now() - t0) / 1000;
      const V = m.hparams.vocabSize;
      // Fixed, varied ids (no tokenizer needed); BOS-like id 1 first when the vocabulary has it.
      const ids = Array.from({ length: f.prompt }, (_, i) => (i === 0 ? Math.min(1, V - 1) : (i * 2654435761) % V));
      const ctx = m.hparams.contextLength;
      const needed = f.prompt + f.gen;
      const s = m.createSession({
        cache: { policy: needed <= ctx ? 'dense' : 'sink', ...(f.kvType !== undefined ? { kvType: f.kvType } : {}) },
        sampling: { temperature: 0 },
        batchSize: Math.min(512, f.prompt),
      });
      if (f.warmup) {
        // One untimed pass of the same shape, as llama-bench does (a prefill of the whole prompt, one decode step):
        // the first batch through a fresh process pays for JIT tier-up, thread start and growing buffers to the
        // batch's size (measured on 110M Q4_0, 2 threads: see BENCHMARKS.md).
        s.prefill(ids);
        s.step();
        s.logits();
        s.reset();
      }
      const prefillRates: number[] = [];
      const decodeRates: number[] = [];
      let timedS = 0;
      // Without the warm-up the cold first pass is the point: one pass, not a median that drops it.
      const reps = f.reps ?? (f.warmup ? undefined : 1);
      while (morePasses(prefillRates.length, timedS, reps)) {
        if (prefillRates.length > 0) s.reset();
        const tp = performance.now();
        s.prefill(ids);
        const prefillS = (performance.now() - tp) / 1000;
        const tg = performance.now();
        for (let i = 0; i < f.gen; i++) {
          s.step();
          s.logits(); // include the last token's forward pass
        }
        const decodeS = (performance.now() - tg) / 1000;
        prefillRates.push(f.prompt / prefillS);
        decodeRates.push(f.gen / decodeS);
        timedS += prefillS + decodeS;
      }
      const peakRssMb = process.resourceUsage().maxRSS / 1024;
      const r = {
        model: f.model,
        ops: ops.name,
        threads: f.threads ?? null,
        load_s: loadS,
        prefill_tokens: f.prompt,
        prefill_tok_s: median(prefillRates),
        decode_tokens: f.gen,
        decode_tok_s: median(decodeRates),
        reps: prefillRates.length,
        peak_rss_mb: peakRssMb,
        cache: s.stats().policy,
        kv_type: f.kvType ?? DEFAULT_KV_TYPE,
        kv_cache_mb: s.cacheBytes / 2 ** 20,
      };
      if (f.json === true) process.stdout.write(JSON.stringify(r) + '\n');
      else {
        process.stdout.write(
          `${f.model} (${ops.name}): load ${loadS.toFixed(2)} s, prefill ${r.prefill_tok_s.toFixed(1)} tok/s (${f.prompt} tokens), ` +
            `decode ${r.decode_tok_s.toFixed(1)} tok/s (${f.gen} tokens), peak RSS ${peakRssMb.toFixed(0)} MB` +
            (r.reps > 1 ? ` (medians of ${r.reps} passes)\n` : '\n'),
        );
      }
      if (needed > ctx) info(`note: ${needed} tokens exceed the ${ctx}-token context; measured with the sink cache`);
    } finally {
      await ops.close();
    }
  });
}
