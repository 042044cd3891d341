/**
 * One llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binary, no GPU, never
 * compiles) per test file, started before its tests and disposed after.
 * Where the native binding cannot load, tests skip with `whyNot()` — except
 * in CI (STREAMLLM_REQUIRE_FIXTURES=1), where the oracle is part of the
 * contract and the file fails instead.
 */
import { after, before } from 'node:test';
import { REQUIRE_FIXTURES } from './fixtures.js';

export type Llama = Awaited<ReturnType<typeof import('node-llama-cpp').getLlama>>;

export interface LlamaOracle {
  /** The instance, or undefined when the binding cannot load (then see whyNot). */
  get(): Llama | undefined;
  whyNot(): string;
}

/** `quiet`: silence llama.cpp's log (vocabulary-only loads print harmless "missing tensor" errors). */
export function useLlamaOracle(opts: { quiet?: boolean } = {}): LlamaOracle {
  let llama: Llama | undefined;
  let why = '';
  before(async () => {
    try {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      llama = await getLlama({ build: 'never', gpu: false, maxThreads: 0, logLevel: opts.quiet === true ? LlamaLogLevel.disabled : LlamaLogLevel.error });
    } catch (err) {
      why = `node-llama-cpp cannot load its native binding here (${String(err).split('\n')[0]})`;
      if (REQUIRE_FIXTURES) throw new Error(why, { cause: err });
    }
  });
  after(async () => {
    await llama?.dispose();
  });
  return { get: () => llama, whyNot: () => why };
}
