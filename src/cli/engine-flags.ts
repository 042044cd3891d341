/** Kernel-backend flags (--engine, --threads, --simd), shared by every command that runs a model. */
import { InvalidArgumentError, type Command } from 'commander';
import { createOps, type EngineName } from '../runtime/engine.js';
import type { Ops } from '../kernels/types.js';
import type { KernelChoice } from '../kernels/wasm/index.js';
import { intArg } from './util.js';

export interface EngineFlags {
  threads?: number;
  engine: EngineName;
  simd?: KernelChoice;
}

export function addEngineFlags(cmd: Command): Command {
  return cmd
    .option('-t, --threads <n>', 'compute threads, the main thread included (default: all cores)', intArg('--threads', 1, 256))
    .option(
      '--engine <name>',
      'kernels: wasm (SIMD WebAssembly, fast) or scalar (the TypeScript reference)',
      (v: string) => {
        if (v !== 'wasm' && v !== 'scalar') throw new InvalidArgumentError('must be wasm or scalar');
        return v;
      },
      'wasm',
    )
    .option('--simd <build>', 'wasm kernel build: auto (relaxed SIMD where the runtime has it), relaxed or simd (default: env STREAMLLM_SIMD, else auto)', (v: string) => {
      if (v !== 'auto' && v !== 'relaxed' && v !== 'simd') throw new InvalidArgumentError('must be auto, relaxed or simd');
      return v;
    });
}

/** The kernel backend for these flags and model; `close()` it when done (it may own worker threads). */
export async function engineOpsFrom(f: EngineFlags, modelPath?: string): Promise<Ops & { close(): Promise<void> | void }> {
  return createOps({
    engine: f.engine,
    ...(f.threads !== undefined ? { threads: f.threads } : {}),
    ...(modelPath !== undefined ? { modelPath } : {}),
    ...(f.simd !== undefined ? { simd: f.simd } : {}),
  });
}
