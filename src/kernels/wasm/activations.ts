/**
 * The quantized activations of WasmOps.matmul (asm/act.ts), as ggml
 * quantizes them (its vec_dot_type): i16 codes, block scales (per 32 or per
 * 256) and code sums (per 32 or per 16); the relaxed build adds the Q8_0
 * grid's codes as int8. Kept for the next call when its caller promises the
 * same input (Ops.matmul `sameInput`: the Q, K and V projections of one
 * batch quantize it once).
 */
import { GgmlType } from '../../tensor/dtype.js';
import type { WasmHeap } from './heap.js';
import type { KernelExports } from './module.js';
import { Region } from './staging.js';

/** The activation grid (asm/act.ts GRID_Q8_0 = 0, GRID_Q8_K = 1) of each integer weight type: ggml's vec_dot_type. */
export const ACT_GRID: ReadonlyMap<GgmlType, number> = new Map([
  [GgmlType.Q8_0, 0], [GgmlType.Q4_0, 0], [GgmlType.Q4_K, 1], [GgmlType.Q6_K, 1],
]);

/** Byte addresses for asm/exec.ts matmulRange: x (f32, possibly the dequantized codes), codes, scales, sums. */
export interface ActPointers {
  x: number;
  xq: number;
  xd: number;
  xs: number;
}

export class QuantizedActivations {
  private readonly region: Region;
  /** What the region holds (when `held`): codes of the f32 input at lastX for lastGrid, lastCount values, at lastAt. */
  private held = false;
  private lastX = 0;
  private lastGrid = 0;
  private lastCount = 0;
  private lastToF32 = false;
  private lastAt = 0;
  /** prepare's result, one object reused (matmul runs per projection and token: no garbage). */
  private readonly out: ActPointers = { x: 0, xq: 0, xd: 0, xs: 0 };

  constructor(
    private readonly k: KernelExports,
    heap: WasmHeap,
  ) {
    this.region = new Region(heap);
  }

  /** Forget the held codes: the next call's input may differ (a matmul without the sameInput promise). */
  invalidate(): void {
    this.held = false;
  }

  /** Quantize n tokens of `cols` f32 values at x for `grid`, unless the held codes are of that very input. The result is overwritten by the next call. */
  prepare(grid: number, x: number, n: number, cols: number): ActPointers {
    const count = n * cols;
    const blocks = count / 32;
    const codes = Math.ceil((count * 3 + blocks * 8) / 64) * 64;
    // Q8_0/Q4_0 prefill multiplies the codes too (asm/igemm.ts); the K-quants decode them to f32 for the panels.
    const toF32 = n > 1 && grid !== 0;
    const xq = this.region.ensure(codes + (toF32 ? count * 4 : 0));
    const xd = xq + count * 2;
    const xs = xd + blocks * 4;
    if (!(this.held && this.lastX === x && this.lastGrid === grid && this.lastCount === count && this.lastToF32 === toF32 && this.lastAt === xq)) {
      this.k.quantizeAct(grid, x, xq, xd, xs, count);
      if (toF32) this.k.dequantAct(grid, xq, xd, xq + codes, count);
      this.held = true;
      this.lastX = x;
      this.lastGrid = grid;
      this.lastCount = count;
      this.lastToF32 = toF32;
      this.lastAt = xq;
    }
    const o = this.out;
    o.x = toF32 ? xq + codes : x;
    o.xq = xq;
    o.xd = xd;
    o.xs = xs;
    return o;
  }
}
