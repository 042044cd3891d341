/**
 * The compiled kernel module (asm/, built into dist/kernels/kernels.wasm) and
 * the typed surface of its exports. Pointers are byte offsets into the
 * shared memory; the module imports that memory as env.memory.
 */
import { StreamLlmError } from '../../errors.js';

export interface KernelExports {
  heapBase(): number;
  setHalfTable(ptr: number): void;
  scratchBytes(cols: number): number;
  matmulRange(
    type: number, out: number, w: number, x: number, xq: number, xd: number, xs: number,
    rows: number, cols: number, n: number, r0: number, r1: number, rowBytes: number, scratch: number,
  ): void;
  exec(ctl: number, tid: number): number;
  quantizeAct(grid: number, x: number, xq: number, xd: number, xs: number, count: number): void;
  dequantAct(grid: number, xq: number, xd: number, dst: number, count: number): void;
  rmsnorm(out: number, x: number, w: number, d: number, n: number, eps: number): void;
  layernorm(out: number, x: number, w: number, b: number, d: number, n: number, eps: number): void;
  softmax(x: number, n: number): void;
  add(a: number, b: number, n: number): void;
  swiglu(gate: number, up: number, n: number): void;
  gelu(x: number, n: number): void;
  ropeAdjacent(x: number, nHeads: number, headDim: number, dims: number, cs: number, sn: number): void;
  ropeHalves(x: number, nHeads: number, headDim: number, dims: number, cs: number, sn: number): void;
  dotRows(scores: number, q: number, keys: number, stride: number, count: number, d: number, scale: number): void;
  axpyRows(out: number, w: number, values: number, stride: number, count: number, d: number): void;
  dequantRow(type: number, src: number, dst: number, cols: number): void;
  attendHeads(out: number, q: number, nHeads: number, kvHeads: number, d: number, scale: number, runs: number, nRuns: number, scores: number, hs: number, slopes: number): void;
  packedRows(type: number, rows: number, cols: number): number;
  packScratchBytes(type: number, rowBytes: number): number;
  packMatrix(type: number, w: number, rows: number, cols: number, rowBytes: number, scratch: number): number;
  dequantPacked(type: number, w: number, row: number, cols: number, rowBytes: number, dst: number): void;
}

/** Where the build puts the module, relative to this file in dist/, then (tests run from src/) in dist/. */
const LOCATIONS = ['../kernels.wasm', '../../../dist/kernels/kernels.wasm'];

/**
 * The module's bytes. The only place that knows how to fetch them: from the
 * file system under Node, with fetch() elsewhere (browsers, bundlers).
 */
export async function readKernelBytes(): Promise<Uint8Array<ArrayBuffer>> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    const res = await fetch(new URL(LOCATIONS[0]!, import.meta.url));
    if (!res.ok) throw new StreamLlmError('FILE_NOT_FOUND', `cannot fetch kernels.wasm: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  const { readFile } = await import('node:fs/promises');
  for (const rel of LOCATIONS) {
    try {
      return await readFile(new URL(rel, import.meta.url));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StreamLlmError('FILE_READ', 'cannot read kernels.wasm', { cause: e });
      }
    }
  }
  throw new StreamLlmError('FILE_NOT_FOUND', 'the WebAssembly kernels (kernels.wasm) are not built', {
    context: { file: new URL(LOCATIONS[0]!, import.meta.url).pathname },
    hint: 'run `npm run build` (or `npm run build:wasm`)',
  });
}

let compiled: Promise<WebAssembly.Module> | undefined;

/** Compiles the kernels once per process; every WasmOps and worker shares the module. */
export function kernelModule(): Promise<WebAssembly.Module> {
  compiled ??= readKernelBytes().then((b) => WebAssembly.compile(b));
  compiled.catch(() => (compiled = undefined));
  return compiled;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}
