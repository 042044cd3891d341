/**
 * Max-heap of candidate merges, ordered by score (highest first) and then by
 * the left symbol's index (leftmost first) — llama.cpp's `llm_bigram_spm`
 * comparator. Entries go stale when a neighbour merges first; the caller
 * checks and discards them on pop, which is cheaper than deleting in place.
 *
 * Struct-of-arrays storage keeps a 100 KB input from allocating an object per
 * candidate.
 */
export class BigramHeap {
  private score = new Float64Array(64);
  private left = new Int32Array(64);
  private right = new Int32Array(64);
  /** Combined length (UTF-16 units) when queued; detects staleness. */
  private len = new Int32Array(64);
  private n = 0;

  get size(): number {
    return this.n;
  }

  push(score: number, left: number, right: number, len: number): void {
    if (this.n === this.score.length) this.grow();
    let i = this.n++;
    // Sift up.
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(score, left, p)) break;
      this.copy(p, i);
      i = p;
    }
    this.score[i] = score;
    this.left[i] = left;
    this.right[i] = right;
    this.len[i] = len;
  }

  /** Removes the top entry and writes it to `out` as [left, right, len]. Requires size > 0. */
  pop(out: Int32Array): void {
    out[0] = this.left[0]!;
    out[1] = this.right[0]!;
    out[2] = this.len[0]!;
    const last = --this.n;
    if (last === 0) return;
    const s = this.score[last]!;
    const l = this.left[last]!;
    const r = this.right[last]!;
    const ln = this.len[last]!;
    // Sift the former last entry down from the root.
    let i = 0;
    for (;;) {
      const a = 2 * i + 1;
      if (a >= last) break;
      const b = a + 1;
      const c = b < last && this.before(this.score[b]!, this.left[b]!, a) ? b : a;
      if (!this.beats(c, s, l)) break;
      this.copy(c, i);
      i = c;
    }
    this.score[i] = s;
    this.left[i] = l;
    this.right[i] = r;
    this.len[i] = ln;
  }

  /** Does (score, left) come out before the entry at slot j? */
  private before(score: number, left: number, j: number): boolean {
    const sj = this.score[j]!;
    return score > sj || (score === sj && left < this.left[j]!);
  }

  /** Does the entry at slot j come out before (score, left)? */
  private beats(j: number, score: number, left: number): boolean {
    const sj = this.score[j]!;
    return sj > score || (sj === score && this.left[j]! < left);
  }

  private copy(from: number, to: number): void {
    this.score[to] = this.score[from]!;
    this.left[to] = this.left[from]!;
    this.right[to] = this.right[from]!;
    this.len[to] = this.len[from]!;
  }

  private grow(): void {
    const cap = this.score.length * 2;
    const s = new Float64Array(cap);
    s.set(this.score);
    this.score = s;
    const l = new Int32Array(cap);
    l.set(this.left);
    this.left = l;
    const r = new Int32Array(cap);
    r.set(this.right);
    this.right = r;
    const ln = new Int32Array(cap);
    ln.set(this.len);
    this.len = ln;
  }
}

/**
 * The merge loop both BPE flavours share, over symbols kept as a linked list
 * (`prev`/`next`, `len` in units; 0 once merged away): pop the best queued
 * pair, skip it if either side changed since it was queued (lengths only
 * grow), merge right into left, and offer the two new neighbour pairs.
 */
export function drainMerges(
  heap: BigramHeap,
  len: Int32Array,
  prev: Int32Array,
  next: Int32Array,
  tryAdd: (l: number, r: number) => void,
): void {
  const top = new Int32Array(3);
  while (heap.size > 0) {
    heap.pop(top);
    const l = top[0]!;
    const r = top[1]!;
    if (len[l] === 0 || len[r] === 0 || len[l]! + len[r]! !== top[2]) continue;
    len[l] = top[2]!;
    len[r] = 0;
    next[l] = next[r]!;
    if (next[r]! >= 0) prev[next[r]!] = l;
    tryAdd(prev[l]!, l);
    tryAdd(l, next[l]!);
  }
}
