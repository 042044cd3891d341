/**
 * Main thread + (threads - 1) workers over one shared memory.
 *
 * A task is published by writing OP and its arguments into the control
 * block and bumping GEN; the main thread then does its own share (so one
 * worker per extra core, never more spinning threads than cores) and waits
 * for PENDING to reach 0: spinning for `spinMicros`, then Atomics.wait with
 * a short timeout. Chunks of rows are claimed with an atomic counter, so the
 * split is even when all threads run and adapts when one is descheduled.
 *
 * Failure never hangs the caller: a worker that throws or exits reports it
 * in its status word; one that makes no progress for `stallTimeoutMs` is
 * given up on. Either way the pool is marked failed and every later task
 * throws the same typed error.
 */
import { existsSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { StreamLlmError } from '../../errors.js';
import { ARGS, DONE, ERR, GEN, NEXT, OP, OP_ATTEND, OP_EXIT, OP_HANG, OP_MATMUL, OP_SWIGLU, OP_TRAP, PENDING, SLEEPERS, STOP, W_EXITED, W_THREW } from './control.js';
import { workerError } from './errors.js';
import type { KernelExports } from './module.js';
import type { WorkerInit } from './worker.js';

export interface PoolOptions {
  readonly spinMicros: number;
  readonly stallTimeoutMs: number;
  /** Per-instance setup the workers repeat (see WorkerInit). */
  readonly halfTable: number;
}

/** A test hook: make the workers misbehave on the next task. */
export type WorkerFault = 'throw' | 'exit' | 'hang';

const WAIT_MS = 20;

/** Node flags a worker may be given that can matter to it: module loading and warnings. */
const WORKER_FLAGS = /^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C)$/;
const WORKER_SWITCHES = /^(--import=|--require=|--loader=|--experimental-loader=|--conditions=|--enable-source-maps$|--no-warnings$|--no-deprecation$)/;

/**
 * The parent's node flags that a worker can take. Workers inherit them by
 * default, but some make a worker fail to start: V8 options (node
 * --max-semi-space-size=1 ...) and flags about the main script's input
 * (--input-type, -e). The kernel worker only needs module loading.
 */
export function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (WORKER_FLAGS.test(a) && i + 1 < argv.length) out.push(a, argv[++i]!);
    else if (WORKER_SWITCHES.test(a)) out.push(a);
  }
  return out;
}

/**
 * A kernel worker runs wasm on shared memory and allocates next to nothing
 * in JS: a small young generation keeps its isolate's RSS down (peak RSS of
 * `node dist/cli/main.js bench -m bench/out/llama-110m-q4_0.gguf --threads 2
 * --json`: 171–173 MiB over 3 runs, against 173–174 in BENCHMARKS.md's runs
 * without it).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 };

/**
 * Starts worker.js beside this file. Under tsx (tests and benchmarks run the
 * sources), Node 20 does not pass module hooks on to workers, so the worker
 * registers tsx itself before importing worker.ts.
 */
/**
 * The one-file build of the worker (scripts/bundle-cli.mjs: less memory per thread), beside this module or, from
 * the CLI bundle in dist/cli/, in dist/kernels/wasm/; used unless older than worker.js (a tsc-only rebuild).
 */
function bundledWorker(): URL | undefined {
  const plain = new URL('./worker.js', import.meta.url);
  for (const f of ['./worker.bundle.js', '../kernels/wasm/worker.bundle.js']) {
    const u = new URL(f, import.meta.url);
    if (existsSync(u) && !(existsSync(plain) && statSync(plain).mtimeMs > statSync(u).mtimeMs)) return u;
  }
  return undefined;
}

function spawnWorker(init: WorkerInit): Worker {
  const execArgv = workerExecArgv(process.execArgv);
  if (!import.meta.url.endsWith('.ts')) {
    const bundled = bundledWorker();
    if (bundled !== undefined) return new Worker(bundled, { workerData: init, execArgv, resourceLimits: WORKER_LIMITS });
    // The plain module, written so that bundlers can see it.
    return new Worker(new URL('./worker.js', import.meta.url), { workerData: init, execArgv, resourceLimits: WORKER_LIMITS });
  }
  const src = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsx}).then((m) => { m.register(); return import(${src}); })`;
  return new Worker(boot, { eval: true, workerData: init, execArgv, resourceLimits: WORKER_LIMITS });
}

export class ThreadPool {
  private failure: StreamLlmError | undefined;
  private closed = false;
  private lastWorkerMessage = '';
  /** Chunks done by the calling thread / by all threads, since creation (is the split even?). */
  mainChunks = 0;
  allChunks = 0;

  private constructor(
    private readonly k: KernelExports,
    private readonly ctl: Int32Array,
    private readonly ctlPtr: number,
    private readonly workers: Worker[],
    private readonly opts: PoolOptions,
  ) {
    workers.forEach((w, i) => {
      const tid = i + 1;
      w.on('message', (m: { error?: string }) => {
        if (m.error !== undefined) this.lastWorkerMessage = m.error;
      });
      w.on('error', (e) => this.fail(workerError(`kernel worker ${tid} failed: ${e.message}`, tid, e)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(workerError(`kernel worker ${tid} exited (code ${code})`, tid));
      });
      // Adding 'message' listeners re-references the worker's port: unref again, so a
      // forgotten close() never keeps the process alive.
      w.unref();
    });
  }

  static async create(
    k: KernelExports,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    ctlPtr: number,
    ctl: Int32Array,
    threads: number,
    opts: PoolOptions,
  ): Promise<ThreadPool> {
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const init: WorkerInit = { module, memory, ctl: ctlPtr, tid, spinMicros: opts.spinMicros, halfTable: opts.halfTable };
      const w = spawnWorker(init);
      // The pool must never keep a process alive on its own.
      w.unref();
      workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMsg = (m: { ready?: boolean }) => {
            if (m.ready === true) {
              w.off('message', onMsg);
              w.off('error', reject);
              resolve();
            }
          };
          w.on('message', onMsg);
          w.once('error', reject);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      Atomics.store(ctl, STOP, 1);
      await Promise.all(workers.map((w) => w.terminate()));
      throw workerError(`kernel worker failed to start: ${(e as Error).message}`, 0, e);
    }
    return new ThreadPool(k, ctl, ctlPtr, workers, opts);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  private fail(e: StreamLlmError): StreamLlmError {
    this.failure ??= e;
    return this.failure;
  }

  /**
   * out (n, rows) = x · W^T on all threads; `args` are the matmul argument
   * words of asm/exec.ts after OP (type ... chunks).
   */
  matmul(args: readonly number[]): void {
    this.run(OP_MATMUL, args);
  }

  /** Attention heads on all threads; `args` are asm/exec.ts's OP_ATTEND words. */
  attend(args: readonly number[]): void {
    this.run(OP_ATTEND, args);
  }

  /** vector.ts swiglu on all threads, in chunks of `chunk` elements (asm/exec.ts OP_SWIGLU). */
  swiglu(gate: number, up: number, n: number, chunk: number): void {
    this.run(OP_SWIGLU, [gate, up, n, chunk]);
  }

  /** Test hook: the next task makes every worker throw, exit, or hang. */
  fault(kind: WorkerFault): void {
    this.run(kind === 'throw' ? OP_TRAP : kind === 'exit' ? OP_EXIT : OP_HANG, []);
  }

  private run(op: number, args: readonly number[]): void {
    if (this.failure !== undefined) throw this.failure;
    const c = this.ctl;
    this.checkWorkers();
    c[OP] = op;
    for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i]!;
    Atomics.store(c, NEXT, 0);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, PENDING, this.workers.length);
    Atomics.add(c, GEN, 1);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, GEN);
    let mainError: unknown;
    try {
      this.mainChunks += this.k.exec(this.ctlPtr, 0);
    } catch (e) {
      mainError = e;
    }
    this.wait();
    this.allChunks += Atomics.load(c, DONE);
    this.checkWorkers();
    if (mainError !== undefined) throw mainError;
  }

  /** Throws (and marks the pool failed) if a worker reported a failure. */
  private checkWorkers(): void {
    for (let tid = 1; tid <= this.workers.length; tid++) {
      const s = Atomics.load(this.ctl, ERR + tid);
      if (s === W_THREW) {
        const why = this.lastWorkerMessage !== '' ? `: ${this.lastWorkerMessage}` : '';
        throw this.fail(workerError(`a kernel failed in worker ${tid}${why}`, tid));
      }
      if (s === W_EXITED) throw this.fail(workerError(`kernel worker ${tid} exited`, tid));
    }
  }

  private wait(): void {
    const c = this.ctl;
    if (Atomics.load(c, PENDING) === 0) return;
    const spinUntil = performance.now() + this.opts.spinMicros / 1000;
    for (let i = 1; Atomics.load(c, PENDING) !== 0; i++) {
      if ((i & 255) === 0 && performance.now() > spinUntil) break;
    }
    let done = Atomics.load(c, DONE);
    let since = performance.now();
    for (;;) {
      const p = Atomics.load(c, PENDING);
      if (p === 0) return;
      Atomics.wait(c, PENDING, p, WAIT_MS);
      this.checkWorkers();
      const d = Atomics.load(c, DONE);
      const now = performance.now();
      if (d !== done) {
        done = d;
        since = now;
      } else if (now - since > this.opts.stallTimeoutMs) {
        throw this.fail(workerError(`kernel workers made no progress for ${this.opts.stallTimeoutMs} ms`, -1));
      }
    }
  }

  /** Stops and terminates the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.notify(this.ctl, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** The same without waiting for the threads to be gone (for [Symbol.dispose]). */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) void w.terminate();
  }
}
