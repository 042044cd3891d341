/**
 * The one WebAssembly.Memory every kernel and thread works in, and a
 * free-list allocator over it (the AssemblyScript module allocates nothing).
 *
 * Why the memory is always `shared`, even with one thread: growing a
 * non-shared memory detaches its old ArrayBuffer, which would silently empty
 * every Float32Array/Uint8Array view already handed out (weights, KV cache).
 * Growing a shared memory leaves old SharedArrayBuffers valid over the bytes
 * they covered, so views never need refreshing. The price is that browsers
 * need cross-origin isolation for SharedArrayBuffer.
 *
 * Blocks are 64-byte aligned (cache lines; SIMD loads never straddle one
 * needlessly). Memory is zeroed on reuse, as a fresh Float32Array would be.
 */
import { memoryLimitError } from './errors.js';

const PAGE = 65536;
const ALIGN = 64;
/** Growth step floor, so that loading a model does not grow page by page. */
const MIN_GROW = 16 * 1024 * 1024;
export const MAX_WASM_BYTES = 65536 * PAGE;

interface Block {
  off: number;
  size: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly maxBytes: number;
  /** Every SharedArrayBuffer object this memory has shown us (one per growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private buf: ArrayBufferLike;
  private top: number;
  /** Bytes at or above this offset were never handed out, so are still zero. */
  private clean: number;
  private readonly freeList: Block[] = [];
  private readonly live = new Map<number, number>();
  private liveBytes = 0;

  /** `base`: first usable byte (the module's __heap_base). */
  constructor(base: number, maxBytes: number, initialBytes = MIN_GROW) {
    this.maxBytes = Math.min(MAX_WASM_BYTES, align(maxBytes, PAGE));
    const initial = Math.min(this.maxBytes, align(Math.max(initialBytes, base + ALIGN), PAGE));
    this.memory = new WebAssembly.Memory({ initial: initial / PAGE, maximum: this.maxBytes / PAGE, shared: true });
    this.buf = this.memory.buffer;
    this.buffers.add(this.buf);
    this.top = align(Math.max(base, 8), ALIGN);
    this.clean = this.top;
  }

  /** Bytes handed out and not freed. */
  get allocatedBytes(): number {
    return this.liveBytes;
  }

  /** Current size of the wasm memory. */
  get memoryBytes(): number {
    return this.buf.byteLength;
  }

  /** True if `v` is a view into this memory (so kernels can use it in place). */
  owns(v: ArrayBufferView): boolean {
    return this.buffers.has(v.buffer);
  }

  u8(off: number, len: number): Uint8Array {
    return new Uint8Array(this.buf, off, len);
  }

  u16(off: number, n: number): Uint16Array {
    return new Uint16Array(this.buf, off, n);
  }

  f32(off: number, n: number): Float32Array {
    return new Float32Array(this.buf, off, n);
  }

  i32(off: number, n: number): Int32Array {
    return new Int32Array(this.buf, off, n);
  }

  /** Offset of a zeroed block of at least `bytes` bytes. */
  alloc(bytes: number): number {
    const size = align(Math.max(bytes, 1), ALIGN);
    let best = -1;
    for (let i = 0; i < this.freeList.length; i++) {
      const b = this.freeList[i]!;
      if (b.size >= size && (best < 0 || b.size < this.freeList[best]!.size)) best = i;
    }
    let off: number;
    if (best >= 0) {
      const b = this.freeList[best]!;
      off = b.off;
      if (b.size === size) this.freeList.splice(best, 1);
      else {
        b.off += size;
        b.size -= size;
      }
    } else {
      off = this.top;
      this.ensure(off + size);
      this.top = off + size;
    }
    if (off < this.clean) new Uint8Array(this.buf, off, Math.min(size, this.clean - off)).fill(0);
    this.clean = Math.max(this.clean, off + size);
    this.live.set(off, size);
    this.liveBytes += size;
    return off;
  }

  /** Returns a block from alloc(); false if `off` is not the start of a live block. */
  release(off: number): boolean {
    const size = this.live.get(off);
    if (size === undefined) return false;
    this.live.delete(off);
    this.liveBytes -= size;
    // Insert sorted by offset, merging with neighbours.
    let i = 0;
    while (i < this.freeList.length && this.freeList[i]!.off < off) i++;
    const blk: Block = { off, size };
    this.freeList.splice(i, 0, blk);
    const next = this.freeList[i + 1];
    if (next !== undefined && blk.off + blk.size === next.off) {
      blk.size += next.size;
      this.freeList.splice(i + 1, 1);
    }
    const prev = this.freeList[i - 1];
    if (prev !== undefined && prev.off + prev.size === blk.off) {
      prev.size += blk.size;
      this.freeList.splice(i, 1);
    }
    // A free block at the top goes back to the bump pointer.
    const last = this.freeList[this.freeList.length - 1];
    if (last !== undefined && last.off + last.size === this.top) {
      this.top = last.off;
      this.freeList.pop();
    }
    return true;
  }

  private ensure(end: number): void {
    const have = this.buf.byteLength;
    if (end <= have) return;
    if (end > this.maxBytes) throw memoryLimitError(end - this.top, this.liveBytes, this.maxBytes);
    const want = Math.min(this.maxBytes, align(Math.max(end, have + Math.max(MIN_GROW, have / 4)), PAGE));
    try {
      this.memory.grow((want - have) / PAGE);
    } catch (e) {
      throw memoryLimitError(end - this.top, this.liveBytes, this.maxBytes, e);
    }
    this.buf = this.memory.buffer;
    this.buffers.add(this.buf);
  }
}
