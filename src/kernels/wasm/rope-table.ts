/**
 * cos/sin of pos·invFreq for WasmOps.rope: computed in float64, rounded to
 * f32 once, laid out for asm/vector.ts (adjacent pairs: each value twice,
 * sin negated for the first of a pair; halves: one per pair). Cached for
 * the last (pos, spec): a layer rotates k, then q, at the same position.
 */
import type { RopeSpec } from '../types.js';
import type { WasmHeap } from './heap.js';
import { Region } from './staging.js';

export class RopeTable {
  private readonly region: Region;
  private key: { pos: number; spec: RopeSpec } | undefined;

  constructor(private readonly heap: WasmHeap) {
    this.region = new Region(heap);
  }

  /** Byte address of the cos table (dims f32), followed by the sin table. */
  at(pos: number, spec: RopeSpec): number {
    const dims = spec.dims;
    const ptr = this.region.ensure(dims * 8);
    const key = this.key;
    if (key !== undefined && key.pos === pos && key.spec === spec) return ptr;
    const cs = this.heap.f32(ptr, dims);
    const sn = this.heap.f32(ptr + dims * 4, dims);
    for (let i = 0; i < dims / 2; i++) {
      const a = pos * spec.invFreq[i]!;
      const c = Math.cos(a);
      const s = Math.sin(a);
      if (spec.style === 'adjacent') {
        cs[2 * i] = c;
        cs[2 * i + 1] = c;
        sn[2 * i] = -s;
        sn[2 * i + 1] = s;
      } else {
        cs[i] = c;
        sn[i] = s;
      }
    }
    this.key = { pos, spec };
    return ptr;
  }
}
