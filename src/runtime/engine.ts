/**
 * Choosing the kernel backend: SIMD WebAssembly on worker threads (the
 * default) or the scalar TypeScript reference (the oracle; slow but simple).
 */
import { availableParallelism } from 'node:os';
import { ScalarOps } from '../kernels/scalar.js';
import type { Ops } from '../kernels/types.js';
import { createWasmOps } from '../kernels/wasm/index.js';

export type EngineName = 'wasm' | 'scalar';

export interface EngineOptions {
  readonly engine?: EngineName;
  /** Threads for the wasm backend, the calling thread included (default: all cores). */
  readonly threads?: number;
}

export type ClosableOps = Ops & { close(): Promise<void> | void };

/** A backend to pass to `loadModel({ ops })`. Close it when done: wasm owns worker threads. */
export async function createOps(opts: EngineOptions = {}): Promise<ClosableOps> {
  if (opts.engine === 'scalar') return Object.assign(new ScalarOps(), { close: () => undefined });
  return createWasmOps({ threads: opts.threads ?? availableParallelism() });
}
