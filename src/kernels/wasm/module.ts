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
  ropeTokens(adjacent: number, x: number, n: number, nHeads: number, headDim: number, dims: number, tables: number): void;
  dotRows(scores: number, q: number, keys: number, stride: number, count: number, d: number, scale: number): void;
  axpyRows(out: number, w: number, values: number, stride: number, count: number, d: number): void;
  dotRowsH(scores: number, q: number, keys: number, stride: number, count: number, d: number, scale: number): void;
  axpyRowsH(out: number, w: number, values: number, stride: number, count: number, d: number): void;
  storeF16(dst: number, src: number, n: number): void;
  loadF16(dst: number, src: number, n: number): void;
  dequantRow(type: number, src: number, dst: number, cols: number): void;
  attendHeads(out: number, q: number, nHeads: number, kvHeads: number, d: number, scale: number, runs: number, nRuns: number, scores: number, hs: number, slopes: number): void;
  packedRows(type: number, rows: number, cols: number): number;
  packScratchBytes(type: number, rowBytes: number): number;
  packMatrix(type: number, w: number, rows: number, cols: number, rowBytes: number, scratch: number): number;
  dequantPacked(type: number, w: number, row: number, cols: number, rowBytes: number, dst: number): void;
}

/**
 * The two builds of asm/: plain SIMD128 ('simd', every engine with wasm
 * SIMD) and the same kernels with relaxed-SIMD paths ('relaxed': Q4_0's
 * nibble dots as `i16x8.relaxed_dot_i8x16_i7x16_s`, exact on every engine,
 * and its per-block fused multiply-add as `f32x4.relaxed_madd`, fused
 * wherever the CPU has FMA; the plain build emulates that in f64, equal but
 * for a double rounding about once in 2^29).
 */
export type KernelVariant = 'simd' | 'relaxed';
/** What to use: a variant, or 'auto' = relaxed where the engine has it. Env STREAMLLM_SIMD sets the default. */
export type KernelChoice = KernelVariant | 'auto';

const FILES: Record<KernelVariant, string> = { simd: 'kernels.wasm', relaxed: 'kernels-relaxed.wasm' };
/**
 * Where the build puts the modules: relative to this file in dist/, from the
 * CLI bundle in dist/cli/, then (tests run from src/) in dist/.
 */
const DIRS = ['../', '../kernels/', '../../../dist/kernels/'];

/**
 * A module's bytes. The only place that knows how to fetch them: from the
 * file system under Node, with fetch() elsewhere (browsers, bundlers).
 */
export async function readKernelBytes(variant: KernelVariant = 'simd'): Promise<Uint8Array<ArrayBuffer>> {
  const file = FILES[variant];
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    const res = await fetch(new URL(DIRS[0]! + file, import.meta.url));
    if (!res.ok) throw new StreamLlmError('FILE_NOT_FOUND', `cannot fetch ${file}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  const { readFile } = await import('node:fs/promises');
  for (const dir of DIRS) {
    try {
      return await readFile(new URL(dir + file, import.meta.url));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StreamLlmError('FILE_READ', `cannot read ${file}`, { cause: e });
      }
    }
  }
  throw new StreamLlmError('FILE_NOT_FOUND', `the WebAssembly kernels (${file}) are not built`, {
    context: { file: new URL(DIRS[0]! + file, import.meta.url).pathname },
    hint: 'run `npm run build` (or `npm run build:wasm`)',
  });
}

/**
 * Whether this engine validates the relaxed build. Node 20 (V8 11.3) has
 * relaxed SIMD behind --experimental-wasm-relaxed-simd: V8 reads wasm
 * feature flags when it compiles, so turning the flag on here (process-wide,
 * before the first compile) is enough; later Node versions and current
 * browsers have it on already. (V8 11.3's baseline tier miscomputes the
 * i32x4 relaxed dot; the kernels use only the i16x8 one, which the
 * conformance suite checks on first calls.)
 */
export function relaxedSimdSupported(): Promise<boolean> {
  relaxedProbe ??= probeRelaxed();
  relaxedProbe.catch(() => (relaxedProbe = undefined));
  return relaxedProbe;
}

let relaxedProbe: Promise<boolean> | undefined;

async function probeRelaxed(): Promise<boolean> {
  const bytes = await readKernelBytes('relaxed');
  if (WebAssembly.validate(bytes)) return true;
  if (typeof process === 'undefined' || process.versions?.node === undefined) return false;
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes);
}

/** The variant a choice resolves to here: 'relaxed' needs an engine that has it (else a typed error); 'auto' takes it when there. */
export async function resolveKernelVariant(choice: KernelChoice = defaultChoice()): Promise<KernelVariant> {
  if (choice === 'simd') return 'simd';
  const ok = await relaxedSimdSupported();
  if (choice === 'relaxed' && !ok) {
    throw new StreamLlmError('WASM_FEATURE_MISSING', 'this WebAssembly engine has no relaxed SIMD', { hint: "use simd: 'simd' (or STREAMLLM_SIMD=simd)" });
  }
  return ok ? 'relaxed' : 'simd';
}

function defaultChoice(): KernelChoice {
  const env = typeof process === 'undefined' ? undefined : process.env?.STREAMLLM_SIMD;
  if (env === undefined || env === '') return 'auto';
  if (env === 'simd' || env === 'relaxed' || env === 'auto') return env;
  throw new StreamLlmError('BAD_ARGUMENT', `STREAMLLM_SIMD must be simd, relaxed or auto, got ${JSON.stringify(env)}`, { context: { field: 'STREAMLLM_SIMD' } });
}

const compiled = new Map<KernelVariant, Promise<WebAssembly.Module>>();

/** Compiles a variant once per process; every WasmOps and worker of that variant shares the module. */
export function kernelModule(variant: KernelVariant = 'simd'): Promise<WebAssembly.Module> {
  let m = compiled.get(variant);
  if (m === undefined) {
    m = readKernelBytes(variant).then((b) => WebAssembly.compile(b));
    m.catch(() => compiled.delete(variant));
    compiled.set(variant, m);
  }
  return m;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}
