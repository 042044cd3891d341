/**
 * Choosing the kernel backend: SIMD WebAssembly on worker threads (the
 * default) or the scalar TypeScript reference (the oracle; slow but simple).
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ScalarOps } from '../kernels/scalar.js';
import type { Ops } from '../kernels/types.js';
import { createWasmOps, type KernelChoice } from '../kernels/wasm/index.js';
import { GgufFile } from '../formats/gguf/reader.js';

export type EngineName = 'wasm' | 'scalar';

export interface EngineOptions {
  readonly engine?: EngineName;
  /** Threads for the wasm backend, the calling thread included (default: all cores). */
  readonly threads?: number;
  /**
   * The model the backend is for (a GGUF path). Threads are an upper
   * bound: a model whose largest matrix has fewer than SMALL_MODEL_ELEMENTS
   * weights runs on the calling thread only.
   */
  readonly modelPath?: string;
  /** The wasm kernel build: 'simd', 'relaxed' or 'auto' (default: env STREAMLLM_SIMD, else 'auto'; see createWasmOps). */
  readonly simd?: KernelChoice;
}

/**
 * Below this many weights in its largest matrix (e.g. 512 x 512), a model
 * gains nothing from a second thread: measured on the 260K aidreams model,
 * 2 threads decoded at 0.68x and prefilled at 0.53x the speed of 1, and the
 * idle worker's V8 isolate adds ~12 MiB of RSS.
 */
export const SMALL_MODEL_ELEMENTS = 1 << 18;

/** Files above this size are not inspected (a small model's weights take a few MiB). */
const SMALL_FILE_BYTES = 64 << 20;

/** Threads worth starting for the model at `path` (GGUF only; anything else: `requested`). */
export function usefulThreads(path: string | undefined, requested: number): number {
  if (path === undefined || requested <= 1) return requested;
  let largest = 0;
  try {
    // Only small files can hold only small matrices: skip parsing the header (vocabulary included) twice for real models.
    if (statSync(path).size > SMALL_FILE_BYTES) return requested;
    const f = GgufFile.open(path); // throws on anything but a GGUF file
    try {
      for (const t of f.tensors) if (t.dims.length >= 2) largest = Math.max(largest, t.dims.reduce((a, b) => a * Number(b), 1));
    } finally {
      f.close();
    }
  } catch {
    return requested; // not GGUF (or broken: the loader reports that with its own typed error)
  }
  return largest < SMALL_MODEL_ELEMENTS ? 1 : requested;
}

export type ClosableOps = Ops & { close(): Promise<void> | void };

/** A backend to pass to `loadModel({ ops })`. Close it when done: wasm owns worker threads. */
export async function createOps(opts: EngineOptions = {}): Promise<ClosableOps> {
  if (opts.engine === 'scalar') return Object.assign(new ScalarOps(), { close: () => undefined });
  return createWasmOps({ threads: usefulThreads(opts.modelPath, opts.threads ?? availableParallelism()), ...(opts.simd !== undefined ? { simd: opts.simd } : {}) });
}
