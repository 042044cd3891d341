/**
 * Layout of the control block shared by the main thread and the workers:
 * 64 i32 words inside the wasm memory, so asm/exec.ts reads the task with
 * plain loads and claims chunks with atomic adds. Keep in sync with exec.ts.
 */
export const CTL_WORDS = 64;

/** Bumped by the main thread to publish a task; workers watch it. */
export const GEN = 0;
/** Workers that have not finished the current task; each decrement notifies. */
export const PENDING = 1;
/** Next chunk to claim / chunks finished (progress, for stall detection). */
export const NEXT = 2;
export const DONE = 3;
/** Workers currently asleep in Atomics.wait on GEN (the main thread notifies only then). */
export const SLEEPERS = 4;
/** Set once by close(): workers leave their loop; OP_HANG stops hanging. */
export const STOP = 6;
export const OP = 8;
/** First argument word of the task. */
export const ARGS = 9;
/** Per-worker status word, ERR + tid: 0 fine, else one of the W_* codes. */
export const ERR = 32;

export const OP_MATMUL = 1;
export const OP_ATTEND = 2;
export const OP_SWIGLU = 3;
export const OP_TRAP = 100;
export const OP_HANG = 101;
/** Test hook handled by the worker's JS: the worker thread exits mid-task. */
export const OP_EXIT = 102;

export const W_THREW = 1;
export const W_EXITED = 2;
