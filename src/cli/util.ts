/** Small CLI helpers: number parsing with clear messages, error reporting, stderr logging. */
import { InvalidArgumentError } from 'commander';
import { StreamLlmError } from '../errors.js';

export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? '∞' : max}, got '${v}'`);
    }
    return n;
  };
}

export function floatArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got '${v}'`);
    }
    return n;
  };
}

/** Diagnostics go to stderr so stdout carries only program output. */
export function info(msg: string): void {
  process.stderr.write(msg + '\n');
}

/** Turn any thrown value into a message and exit code; only the CLI exits the process. */
export function reportError(e: unknown): number {
  if (e instanceof StreamLlmError) {
    process.stderr.write(`error: ${e.describe()}\n`);
    return e.code === 'BAD_ARGUMENT' ? 2 : 1;
  }
  const err = e as Error;
  process.stderr.write(`internal error: ${err?.stack ?? String(e)}\n`);
  return 70;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export const NO_MODEL_MESSAGE = `no model given: pass -m FILE (a GGUF file, or a llama2.c .bin checkpoint with --tokenizer tokenizer.bin).

streamllm does not ship a default model yet. To get a small one to try:
  curl -LO https://huggingface.co/karpathy/tinyllamas/resolve/main/stories15M.bin
  curl -LO https://github.com/karpathy/llama2.c/raw/master/tokenizer.bin
  npx streamllm generate -m stories15M.bin --tokenizer tokenizer.bin -p "Once upon a time"
Any GGUF of a supported architecture (llama, qwen2, gptneox, mpt, falcon; F32/F16/BF16/Q8_0/Q4_0/Q4_K/Q6_K weights)
works too, e.g. TinyLlama-1.1B Q8_0, or a Hugging Face folder (config.json + safetensors + tokenizer.json).`;

/**
 * Loading progress on stderr for big files (a TTY only, so logs and pipes stay clean).
 * Returns an onProgress callback for loadModel/convert, or undefined when silent.
 */
export function progressBar(label: string, minBytes = 64 * 2 ** 20): ((done: number, total: number) => void) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  let last = -1;
  const t0 = performance.now();
  return (done, total) => {
    if (total < minBytes) return;
    const pct = Math.floor((100 * done) / total);
    if (pct === last) return;
    last = pct;
    const width = 30;
    const fill = Math.round((width * done) / total);
    const mbs = done / 2 ** 20 / Math.max((performance.now() - t0) / 1000, 1e-3);
    process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}% ${formatBytes(done)}/${formatBytes(total)} ${mbs.toFixed(0)} MB/s`);
    if (done >= total) process.stderr.write('\n');
  };
}
