/**
 * Per-batch activations shared by every decoder, allocated through the kernel
 * seam (a wasm backend can then address them without copies) and regrown only
 * when a larger batch arrives.
 */
import type { Ops } from '../../kernels/types.js';
import type { CommonHparams } from '../types.js';

export class Scratch {
  n = 0;
  x: Float32Array = new Float32Array(0); // (n, dim) residual stream
  h1: Float32Array = new Float32Array(0); // (n, dim) normed input of attention
  h2: Float32Array = new Float32Array(0); // (n, dim) normed input of the MLP (parallel blocks)
  qkv: Float32Array = new Float32Array(0); // (n, qDim + 2·kvDim) fused projection, before the split
  q: Float32Array = new Float32Array(0); // (n, nHeads·headDim)
  k: Float32Array = new Float32Array(0); // (n, kvHeads·headDim)
  v: Float32Array = new Float32Array(0); // (n, kvHeads·headDim)
  att: Float32Array = new Float32Array(0); // (n, nHeads·headDim) attention output, before Wo
  attnOut: Float32Array = new Float32Array(0); // (n, dim) after Wo
  f1: Float32Array = new Float32Array(0); // (n, ffn) up / gate
  f2: Float32Array = new Float32Array(0); // (n, ffn) up, for gated MLPs
  ffnOut: Float32Array = new Float32Array(0); // (n, dim)
  private logits: Float32Array = new Float32Array(0); // (m, vocab)

  constructor(
    private readonly ops: Ops,
    private readonly hp: CommonHparams,
    private readonly fused: boolean,
  ) {}

  ensure(n: number): void {
    if (n <= this.n) return;
    const hp = this.hp;
    const qd = hp.nHeads * hp.headDim;
    const kd = hp.kvHeads * hp.headDim;
    const a = (size: number, old: Float32Array) => {
      if (old.length > 0) this.ops.free(old);
      return this.ops.allocF32(size);
    };
    this.x = a(n * hp.dim, this.x);
    this.h1 = a(n * hp.dim, this.h1);
    this.h2 = a(n * hp.dim, this.h2);
    if (this.fused) this.qkv = a(n * (qd + 2 * kd), this.qkv);
    this.q = a(n * qd, this.q);
    this.k = a(n * kd, this.k);
    this.v = a(n * kd, this.v);
    this.att = a(n * qd, this.att);
    this.attnOut = a(n * hp.dim, this.attnOut);
    this.f1 = a(n * hp.ffnDim, this.f1);
    this.f2 = a(n * hp.ffnDim, this.f2);
    this.ffnOut = a(n * hp.dim, this.ffnOut);
    this.n = n;
  }

  private logitsView: Float32Array = new Float32Array(0);

  /** (m, vocab) logits; the view is cached so decode steps allocate nothing. */
  ensureLogits(size: number): Float32Array {
    if (this.logits.length < size) {
      if (this.logits.length > 0) this.ops.free(this.logits);
      this.logits = this.ops.allocF32(size);
    }
    if (this.logitsView.length !== size || this.logitsView.buffer !== this.logits.buffer || this.logitsView.byteOffset !== this.logits.byteOffset) {
      this.logitsView = this.logits.subarray(0, size);
    }
    return this.logitsView;
  }
}
