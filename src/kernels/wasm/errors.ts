/** The two failures specific to this backend: memory past 4 GiB, and a dead worker thread. */
import { StreamLlmError } from '../../errors.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function memoryLimitError(requested: number, inUse: number, limit: number, cause?: unknown): StreamLlmError {
  const lim = limit >= GiB ? `${(limit / GiB).toFixed(limit % GiB === 0 ? 0 : 2)} GiB` : `${(limit / MiB).toFixed(0)} MiB`;
  return new StreamLlmError(
    'WASM_MEMORY_LIMIT',
    `the model plus its KV cache and scratch do not fit in ${lim} of WebAssembly memory: ` +
      `${(requested / MiB).toFixed(1)} MiB more were requested with ${(inUse / MiB).toFixed(1)} MiB already in use`,
    {
      context: { expected: limit, actual: inUse + requested },
      hint: 'a wasm32 memory holds at most 4 GiB: use a smaller quantization (Q4_0, Q4_K), a bounded cache (the sink policy) or a shorter context, or the scalar backend',
      cause,
    },
  );
}

export function workerError(message: string, worker: number, cause?: unknown): StreamLlmError {
  return new StreamLlmError('WORKER_FAILED', message, {
    context: { worker },
    hint: 'the kernel thread pool is unusable now: close() these ops and create new ones (or use threads: 1)',
    cause,
  });
}
