/**
 * Pointers for kernel arguments. Arrays that live in the wasm memory (from
 * allocF32/alloc) are used in place; any other array is copied into a
 * staging area for the call and, for outputs, copied back afterwards, so the
 * kernels are correct on every Float32Array, fast on their own.
 */
import { requireArg } from '../../errors.js';
import type { WasmHeap } from './heap.js';

interface WriteBack {
  readonly arr: Float32Array;
  readonly start: number;
  readonly len: number;
  readonly ptr: number;
}

export type Access = 'in' | 'out' | 'inout';

export class Staging {
  private region = -1;
  private cap = 0;
  private used = 0;
  private readonly retired: number[] = [];
  private readonly writeBacks: WriteBack[] = [];

  constructor(private readonly heap: WasmHeap) {}

  /** Byte address of arr[start .. start + len). */
  f32(arr: Float32Array, start: number, len: number, access: Access, what: string): number {
    // A wasm kernel would not stop at the end of a view: check bounds here (message built only on failure).
    if (!(Number.isInteger(start) && start >= 0 && len >= 0 && start + len <= arr.length)) {
      requireArg(false, `${what}: elements ${start}..${start + len} are outside an array of ${arr.length}`, { field: what });
    }
    if (this.heap.owns(arr)) return arr.byteOffset + start * 4;
    const ptr = this.take(len * 4);
    if (access !== 'out') this.heap.f32(ptr, len).set(arr.subarray(start, start + len));
    if (access !== 'in') this.writeBacks.push({ arr, start, len, ptr });
    return ptr;
  }

  /** Byte address of arr[start .. start + len) (IEEE halves of a 16-bit KV cache), read only. */
  f16(arr: Uint16Array, start: number, len: number, what: string): number {
    if (!(Number.isInteger(start) && start >= 0 && len >= 0 && start + len <= arr.length)) {
      requireArg(false, `${what}: elements ${start}..${start + len} are outside an array of ${arr.length}`, { field: what });
    }
    if (this.heap.owns(arr)) return arr.byteOffset + start * 2;
    const ptr = this.take(len * 2);
    this.heap.u16(ptr, len).set(arr.subarray(start, start + len));
    return ptr;
  }

  /** f32 or f16 KV storage (see f32/f16), read only. */
  kv(arr: Float32Array | Uint16Array, start: number, len: number, what: string): number {
    return arr instanceof Uint16Array ? this.f16(arr, start, len, what) : this.f32(arr, start, len, 'in', what);
  }

  /** Byte address of the first `len` bytes of `bytes` (weights), read only. */
  bytes(bytes: Uint8Array, len: number, what: string): number {
    if (len > bytes.length) requireArg(false, `${what}: needs ${len} bytes, has ${bytes.length}`, { field: what });
    if (this.heap.owns(bytes)) return bytes.byteOffset;
    const ptr = this.take(len);
    this.heap.u8(ptr, len).set(bytes.subarray(0, len));
    return ptr;
  }

  /** Byte address of `bytes` of scratch, valid until finish(). */
  scratch(bytes: number): number {
    return this.take(bytes);
  }

  /** Copies outputs back and recycles the staging area; call once per kernel call. */
  finish(): void {
    for (const w of this.writeBacks) w.arr.set(this.heap.f32(w.ptr, w.len), w.start);
    this.writeBacks.length = 0;
    for (const r of this.retired) this.heap.release(r);
    this.retired.length = 0;
    this.used = 0;
  }

  private take(bytes: number): number {
    const size = Math.ceil(bytes / 64) * 64;
    if (this.used + size > this.cap) {
      // Pointers already given out in this call stay valid: retire, don't free, the old area.
      if (this.region >= 0) this.retired.push(this.region);
      this.cap = Math.max(size, 2 * this.cap, 65536);
      this.region = this.heap.alloc(this.cap);
      this.used = 0;
    }
    const p = this.region + this.used;
    this.used += size;
    return p;
  }
}

/** A reusable scratch block that only ever grows. */
export class Region {
  private ptr = -1;
  private size = 0;

  constructor(private readonly heap: WasmHeap) {}

  ensure(bytes: number): number {
    if (bytes > this.size || this.ptr < 0) {
      if (this.ptr >= 0) this.heap.release(this.ptr);
      this.size = Math.max(bytes, Math.ceil(this.size * 1.5), 64);
      this.ptr = this.heap.alloc(this.size);
    }
    return this.ptr;
  }
}
