/**
 * A kernel worker: instantiates the shared kernel module on the shared
 * memory and runs `exec` for every task the main thread publishes. It never
 * returns to its event loop while the pool is open: between tasks it spins
 * briefly (a handoff then costs ~0.3 µs) and then sleeps in Atomics.wait
 * with a timeout (a lost wake-up can only delay it, never hang it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ERR, GEN, OP, OP_EXIT, PENDING, SLEEPERS, STOP, W_EXITED, W_THREW, CTL_WORDS } from './control.js';
import { instantiate } from './module.js';

export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the control block. */
  readonly ctl: number;
  readonly tid: number;
  readonly spinMicros: number;
  /** Byte offset of the f16 -> f32 table (see asm/common.ts). */
  readonly halfTable: number;
}

const IDLE_WAIT_MS = 20;

function main(init: WorkerInit): void {
  const k = instantiate(init.module, init.memory);
  k.setHalfTable(init.halfTable);
  const ctl = new Int32Array(init.memory.buffer, init.ctl, CTL_WORDS);
  let inTask = false;
  // A worker that exits (process.exit, terminate) says so in shared memory,
  // which the main thread can read while it blocks; events could not reach it.
  process.on('exit', () => {
    Atomics.store(ctl, ERR + init.tid, W_EXITED);
    if (inTask) Atomics.sub(ctl, PENDING, 1);
    Atomics.notify(ctl, PENDING);
  });
  let seen = Atomics.load(ctl, GEN);
  parentPort!.postMessage({ ready: true });
  for (;;) {
    let g = Atomics.load(ctl, GEN);
    if (g === seen) {
      const until = performance.now() + init.spinMicros / 1000;
      for (let i = 1; g === seen; i++) {
        if ((i & 255) === 0 && performance.now() > until) break;
        g = Atomics.load(ctl, GEN);
      }
      while (g === seen && Atomics.load(ctl, STOP) === 0) {
        Atomics.add(ctl, SLEEPERS, 1);
        Atomics.wait(ctl, GEN, seen, IDLE_WAIT_MS);
        Atomics.sub(ctl, SLEEPERS, 1);
        g = Atomics.load(ctl, GEN);
      }
    }
    if (Atomics.load(ctl, STOP) !== 0) return;
    seen = g;
    inTask = true;
    try {
      if (Atomics.load(ctl, OP) === OP_EXIT) process.exit(3);
      k.exec(init.ctl, init.tid);
    } catch (e) {
      Atomics.store(ctl, ERR + init.tid, W_THREW);
      parentPort!.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
    inTask = false;
    Atomics.sub(ctl, PENDING, 1);
    Atomics.notify(ctl, PENDING);
  }
}

main(workerData as WorkerInit);
