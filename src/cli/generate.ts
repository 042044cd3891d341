/** `streamllm generate`: stream a continuation of a prompt to stdout. */
import type { Command } from 'commander';
import { StreamLlmError } from '../errors.js';
import type { Ops } from '../kernels/types.js';
import { loadModel } from '../runtime/load.js';
import { addCacheFlags, cacheOptionsFrom, describeCache, type CacheFlags } from './cache-flags.js';
import { addEngineFlags, engineOpsFrom, type EngineFlags } from './engine-flags.js';
import { floatArg, formatBytes, info, intArg, NO_MODEL_MESSAGE, progressBar } from './util.js';

interface GenerateFlags extends CacheFlags, EngineFlags {
  model?: string;
  tokenizer?: string;
  prompt: string;
  nPredict: number;
  temp: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  repeatLastN: number;
  seed?: number;
  bos: boolean;
  stopAtEos: boolean;
  verbose?: boolean;
}

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('generate text from a prompt, streaming tokens to stdout as they are produced')
    .option('-m, --model <file>', 'model file: GGUF, or llama2.c checkpoint (.bin)')
    .option('--tokenizer <file>', 'llama2.c tokenizer.bin (GGUF files carry their own)')
    .option('-p, --prompt <text>', 'prompt text', '')
    .option('-n, --n-predict <n>', 'tokens to generate; 0 = forever (stop with Ctrl-C)', intArg('--n-predict', 0), 128)
    .option('--temp <t>', 'temperature; 0 = greedy', floatArg('--temp', 0, 100), 0.8)
    .option('--top-k <k>', 'keep the k most likely tokens; 0 = off', intArg('--top-k', 0), 40)
    .option('--top-p <p>', 'nucleus sampling mass; 1 = off', floatArg('--top-p', 1e-9, 1), 0.95)
    .option('--min-p <p>', 'drop tokens below p × the top probability; 0 = off', floatArg('--min-p', 0, 1), 0.05)
    .option('--repeat-penalty <r>', 'penalty for repeated tokens; 1 = off', floatArg('--repeat-penalty', 1e-6, 100), 1)
    .option('--repeat-last-n <n>', 'tokens of history the penalties consider', intArg('--repeat-last-n', 0, 4096), 64)
    .option('--seed <s>', 'random seed (default: random)', intArg('--seed', 0))
    .option('--no-bos', 'do not prepend the BOS token')
    .option('--no-stop-at-eos', 'keep generating past end-of-sequence tokens');
  addEngineFlags(addCacheFlags(cmd))
    .option('-v, --verbose', 'report speed and cache state on stderr')
    .action(async (f: GenerateFlags) => {
      if (f.model === undefined) throw new StreamLlmError('BAD_ARGUMENT', NO_MODEL_MESSAGE);
      const t0 = performance.now();
      const ops = await engineOpsFrom(f, f.model);
      try {
        await run(f as GenerateFlags & { model: string }, ops, t0);
      } finally {
        await ops.close();
      }
    });
}

async function run(f: GenerateFlags & { model: string }, ops: Ops, t0: number): Promise<void> {
    const m = loadModel(f.model, { ops, onProgress: progressBar('loading'), ...(f.tokenizer !== undefined ? { tokenizer: f.tokenizer } : {}) });
    const tok = m.tokenizer;
    if (tok === undefined) {
      throw new StreamLlmError('TOKENIZER_MISSING', `${f.model} has no tokenizer`, {
        context: { file: f.model },
        hint: 'llama2.c checkpoints need --tokenizer tokenizer.bin',
      });
    }
    const cache = cacheOptionsFrom(f);
    const session = m.createSession({
      cache,
      ...(f.sinkToken !== undefined ? { sinkToken: f.sinkToken } : {}),
      sampling: {
        temperature: f.temp,
        topK: f.topK,
        topP: f.topP,
        minP: f.minP,
        repeatPenalty: f.repeatPenalty,
        penaltyLastN: f.repeatLastN,
        ...(f.seed !== undefined ? { seed: f.seed } : {}),
      },
    });
    const prompt = tok.encode(f.prompt, { addBos: f.bos && tok.bos !== undefined });
    if (prompt.length === 0) {
      throw new StreamLlmError('BAD_ARGUMENT', 'empty prompt and no BOS token: nothing to condition on', { hint: 'give -p TEXT' });
    }
    const verbose = f.verbose === true;
    const sinkToken = f.sinkToken ?? m.sinkToken;
    if (verbose) {
      info(
        `loaded ${f.model} (${ops.name}) in ${((performance.now() - t0) / 1000).toFixed(2)} s; prompt ${prompt.length} tokens; ` +
          `cache ${describeCache(cache, m.hparams.contextLength, sinkToken)} (${formatBytes(session.cache.bytes)})`,
      );
    }
    // Decode the prompt's tokens too, so stdout is exactly prompt + continuation as the model sees it.
    const dec = tok.createStreamDecoder();
    let text = '';
    for (const id of prompt) text += dec.push(id);
    process.stdout.write(text);
    const tp = performance.now();
    session.prefill(prompt);
    const tg = performance.now();
    let n = 0;
    let lastReport = tg;
    let lastN = 0;
    const report = (now: number) => {
      const s = session.stats();
      info(
        `\n[${n} tokens, ${(((n - lastN) * 1000) / Math.max(now - lastReport, 1e-9)).toFixed(1)} tok/s; cache ${s.policy}: ` +
          `${s.length}/${s.capacity} held, ${s.sinks} sinks, window ${s.windowFill}, ${s.tokensSeen} seen, ${s.evictions} evicted]`,
      );
      lastReport = now;
      lastN = n;
    };
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const max = f.nPredict === 0 ? Infinity : f.nPredict;
      const stopAt = f.stopAtEos ? (i: number) => tok.isEog(i) : undefined;
      for await (const id of session.generate({ maxTokens: max, signal: controller.signal, ...(stopAt ? { stopAt } : {}) })) {
        const piece = dec.push(id);
        if (piece.length > 0) process.stdout.write(piece);
        n++;
        if (verbose && n % 64 === 0 && performance.now() - lastReport > 2000) report(performance.now());
      }
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    process.stdout.write(dec.flush() + '\n');
    if (verbose) {
      const te = performance.now();
      const s = session.stats();
      info(
        `prefill ${prompt.length} tok in ${(tg - tp).toFixed(0)} ms (${((prompt.length * 1000) / Math.max(tg - tp, 1e-9)).toFixed(1)} tok/s); ` +
          `generated ${n} tok in ${(te - tg).toFixed(0)} ms (${((n * 1000) / Math.max(te - tg, 1e-9)).toFixed(1)} tok/s); ` +
          `cache ${s.policy}: ${s.length}/${s.capacity} held, ${s.sinks} sinks, window ${s.windowFill}, ${s.tokensSeen} seen, ${s.evictions} evicted`,
      );
    }
}
