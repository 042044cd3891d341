/**
 * cos/sin of pos·invFreq for WasmOps.rope: computed in float64, rounded to
 * f32 once, laid out for asm/vector.ts (adjacent pairs: each value twice,
 * sin negated for the first of a pair; halves: one per pair), one table per
 * token of a run of consecutive positions. Cached for the last (pos, n,
 * spec): every layer rotates k, then q, at the same positions.
 */
import type { RopeSpec } from '../types.js';
import type { WasmHeap } from './heap.js';
import { Region } from './staging.js';

export class RopeTable {
  private readonly region: Region;
  // The tables held (no key object per call: decode asks for a new position every token).
  private pos = NaN;
  private n = 0;
  private spec: RopeSpec | undefined;
  private view: Float32Array = new Float32Array(0);

  constructor(private readonly heap: WasmHeap) {
    this.region = new Region(heap);
  }

  /** Byte address of token 0's cos table (dims f32), then its sin table, then token 1's, …. */
  at(pos: number, n: number, spec: RopeSpec): number {
    const dims = spec.dims;
    const ptr = this.region.ensure(n * dims * 8);
    if (this.pos === pos && this.n === n && this.spec === spec) return ptr;
    // A view of shared memory stays valid when the memory grows; remade only when the region moves or grows.
    if (this.view.byteOffset !== ptr || this.view.length < n * dims * 2) this.view = this.heap.f32(ptr, n * dims * 2);
    const t = this.view;
    for (let k = 0; k < n; k++) {
      const cs = k * dims * 2;
      const sn = cs + dims;
      const p = pos + k;
      for (let i = 0; i < dims / 2; i++) {
        const a = p * spec.invFreq[i]!;
        const c = Math.cos(a);
        const s = Math.sin(a);
        if (spec.style === 'adjacent') {
          t[cs + 2 * i] = c;
          t[cs + 2 * i + 1] = c;
          t[sn + 2 * i] = -s;
          t[sn + 2 * i + 1] = s;
        } else {
          t[cs + i] = c;
          t[sn + i] = s;
        }
      }
    }
    this.pos = pos;
    this.n = n;
    this.spec = spec;
    return ptr;
  }
}
