/**
 * Candidate selection for the sampler: top-k, top-p and min-p over a logit
 * row, without ever sorting the whole vocabulary.
 *
 * Shared conventions: `logits` is the (already penalized) row; `idx` holds
 * candidate token ids in idx[0..n); each function returns the new n. "Sorted"
 * means by logit descending, ties by lower id first, the order in which
 * top-k and top-p cut. -Infinity tokens are never candidates. `maxLogit` is
 * the row maximum (always a candidate, so masses are taken relative to it).
 */

/** Histogram resolution (top-p, wide top-k): 8 buckets per nat of log-probability. */
const BUCKETS_PER_NAT = 8;
/**
 * 64 nats below the maximum a token has relative mass < 2e-28, far below
 * what top-p can resolve in float64; everything beyond shares the last bucket.
 */
export const TOP_P_BUCKETS = 64 * BUCKETS_PER_NAT + 1;

/** Packed sort keys hold the token id in their low 21 bits. */
const ID_BITS = 2 ** 21;
export const MAX_PACKED_VOCAB = ID_BITS;

/** Reusable buffers for sorting and top-p; see `Sampler.reserve`. */
export interface SelectScratch {
  /** (vocab) the logits' float32 bit patterns: a view on the same buffer */
  bits: Uint32Array;
  /** (vocab) packed sort keys */
  keys: Float64Array;
  /** (TOP_P_BUCKETS) top-p mass per histogram bucket */
  hist: Float64Array;
}

/**
 * Sorts idx[0..n) by logit descending, ties by lower id.
 *
 * A comparator sort over 60k candidates costs ~15 ms in V8, mostly calls
 * into the closure. Instead each candidate becomes one float64 key: the
 * float32 logit mapped to an order-preserving u32 (flip all bits of
 * negatives, set the sign bit of positives), inverted for descending order,
 * times 2^21, plus the id. That is at most 53 bits, so the key is an exact
 * double and the native comparator-less sort (~5x faster) does the work.
 * Vocabularies of 2^21 and more fall back to the comparator.
 */
export function sortCandidates(logits: Float32Array, idx: Int32Array, n: number, s: SelectScratch): void {
  if (logits.length > MAX_PACKED_VOCAB) {
    idx.subarray(0, n).sort((a, b) => logits[b]! - logits[a]! || a - b);
    return;
  }
  const { bits, keys } = s;
  for (let j = 0; j < n; j++) {
    const t = idx[j]!;
    let b = bits[t]!;
    if (b === 0x80000000) b = 0; // -0 ties with +0, as it compares
    const ordered = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    keys[j] = (0xffffffff - ordered) * ID_BITS + t;
  }
  const k = keys.subarray(0, n).sort();
  for (let j = 0; j < n; j++) idx[j] = k[j]! % ID_BITS;
}

/** All ids with a finite logit, in id order. O(V). */
export function gatherFinite(logits: Float32Array, idx: Int32Array): number {
  let n = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i]! !== -Infinity) idx[n++] = i;
  }
  return n;
}

/**
 * The k best tokens, sorted. A min-heap of size k (root = worst kept) sits in
 * idx[0..k); a token enters only if it beats the root. Since ids arrive in
 * increasing order, a token tied with the root is the worse of the two, so
 * admission is a single `>`: O(V) typical, O(V log k) worst case, then
 * O(k log k) to sort what survived.
 */
export function selectTopK(logits: Float32Array, k: number, idx: Int32Array, s: SelectScratch): number {
  let size = 0;
  const vocab = logits.length;
  for (let i = 0; i < vocab; i++) {
    const v = logits[i]!;
    if (v === -Infinity) continue;
    if (size < k) {
      // sift up: a parent must rank no higher than its children
      let c = size++;
      while (c > 0) {
        const parent = (c - 1) >> 1;
        const p = idx[parent]!;
        if (!worse(logits, i, p)) break;
        idx[c] = p;
        c = parent;
      }
      idx[c] = i;
    } else if (v > logits[idx[0]!]!) {
      siftDown(logits, idx, size, i);
    }
  }
  sortCandidates(logits, idx, size, s);
  return size;
}

/**
 * Past this k the heap stops paying: admissions grow like k ln(V/k), each
 * costing a log2(k)-deep sift (k = 50k over 150k: ~19 ms). Larger k goes
 * through a count histogram instead.
 */
export const HEAP_MAX_K = 1024;

/**
 * The k best tokens, sorted, for large k: count tokens per 1/8-nat bucket
 * below the max, find the bucket where the running count reaches k, and sort
 * only the tokens in or above it. O(V) plus a sort of about k tokens. (For
 * small k the heap is better: on a flat row one bucket can hold everything.)
 */
export function selectTopKWide(
  logits: Float32Array,
  k: number,
  idx: Int32Array,
  maxLogit: number,
  s: SelectScratch,
): number {
  const n = gatherFinite(logits, idx);
  if (n <= k) {
    sortCandidates(logits, idx, n, s);
    return n;
  }
  const hist = s.hist;
  hist.fill(0);
  for (let j = 0; j < n; j++) hist[bucketOf(logits[idx[j]!]!, maxLogit)]++;
  let cut = TOP_P_BUCKETS - 1;
  let count = 0;
  for (let b = 0; b < TOP_P_BUCKETS; b++) {
    count += hist[b]!;
    if (count >= k) {
      cut = b;
      break;
    }
  }
  let kept = 0;
  for (let j = 0; j < n; j++) {
    const t = idx[j]!;
    if (bucketOf(logits[t]!, maxLogit) <= cut) idx[kept++] = t;
  }
  sortCandidates(logits, idx, kept, s);
  return Math.min(k, kept);
}

/** True if token a ranks below token b (lower logit, or tied and higher id). */
function worse(logits: Float32Array, a: number, b: number): boolean {
  const la = logits[a]!;
  const lb = logits[b]!;
  return la < lb || (la === lb && a > b);
}

/** Replaces the heap root with `token` and restores the min-heap order. */
function siftDown(logits: Float32Array, heap: Int32Array, size: number, token: number): void {
  let c = 0;
  for (;;) {
    const left = 2 * c + 1;
    if (left >= size) break;
    let child = left;
    const right = left + 1;
    if (right < size && worse(logits, heap[right]!, heap[left]!)) child = right;
    const w = heap[child]!;
    if (!worse(logits, w, token)) break;
    heap[c] = w;
    c = child;
  }
  heap[c] = token;
}

/**
 * Top-p, then min-p, in one go. Top-p keeps the shortest sorted prefix whose
 * mass is >= p, mass taken over all n current candidates at temperature 1
 * (llama.cpp's chain). Min-p then drops tokens below `floor` (= max +
 * ln(minP); -Infinity when off). Both keep a sorted prefix, so the result is
 * the shorter of the two, and min-p can prune before any sorting.
 *
 * Sorted candidates (after top-k) are just scanned. Unsorted ones (the whole
 * vocabulary) take one pass that sums the total mass, drops tokens below the
 * floor and builds a histogram of the mass that is left, by distance below
 * the max in buckets of 1/8 nat. Walking the buckets from the top finds the
 * one where the cumulative mass crosses p * total; only tokens in or above it
 * are sorted, usually a few hundred of 150k and never more than the answer
 * plus one bucket. A bucket is a logit interval, so the survivors form an
 * exact top set, ties included, and the final scan over them is exact.
 *
 * Leaves idx[0..n) sorted, except when min-p alone decides the cut (then the
 * survivors stay in id order).
 */
export function topPFilter(
  logits: Float32Array,
  idx: Int32Array,
  n: number,
  sorted: boolean,
  p: number,
  maxLogit: number,
  floor: number,
  s: SelectScratch,
): number {
  let total = 0;
  if (sorted) {
    for (let j = 0; j < n; j++) total += Math.exp(logits[idx[j]!]! - maxLogit);
  } else {
    const hist = s.hist;
    hist.fill(0);
    let kept = 0;
    for (let j = 0; j < n; j++) {
      const t = idx[j]!;
      const l = logits[t]!;
      const e = Math.exp(l - maxLogit);
      total += e;
      if (l >= floor) {
        idx[kept++] = t;
        hist[bucketOf(l, maxLogit)] += e;
      }
    }
    n = kept;
    const target = p * total;
    let cum = 0;
    let cut = -1;
    for (let b = 0; b < TOP_P_BUCKETS; b++) {
      cum += hist[b]!;
      if (cum >= target) {
        cut = b;
        break;
      }
    }
    // Min-p cut first (or rounding, for p within an ulp of 1): keep all.
    if (cut < 0) return n;
    kept = 0;
    for (let j = 0; j < n; j++) {
      const t = idx[j]!;
      if (bucketOf(logits[t]!, maxLogit) <= cut) idx[kept++] = t;
    }
    n = kept;
    sortCandidates(logits, idx, n, s);
  }
  const target = p * total;
  let cum = 0;
  for (let j = 0; j < n; j++) {
    const l = logits[idx[j]!]!;
    if (l < floor) return j;
    cum += Math.exp(l - maxLogit);
    if (cum >= target) return j + 1;
  }
  // Only reachable through rounding (the histogram and this scan add in
  // different orders): keep everything.
  return n;
}

function bucketOf(logit: number, maxLogit: number): number {
  const d = (maxLogit - logit) * BUCKETS_PER_NAT;
  return d < TOP_P_BUCKETS - 1 ? d | 0 : TOP_P_BUCKETS - 1;
}

/**
 * Min-p alone: keeps tokens with logit >= floor (see `minPFloor`). Sorted
 * input stays sorted (the kept set is a prefix); unsorted input is compacted
 * in place, keeping id order.
 */
export function minPFilter(logits: Float32Array, idx: Int32Array, n: number, sorted: boolean, floor: number): number {
  if (sorted) {
    for (let j = 0; j < n; j++) if (logits[idx[j]!]! < floor) return j;
    return n;
  }
  let kept = 0;
  for (let j = 0; j < n; j++) {
    const t = idx[j]!;
    if (logits[t]! >= floor) idx[kept++] = t;
  }
  return kept;
}

/**
 * p >= minP * p_max  <=>  logit >= max + ln(minP): min-p compared in logit
 * space, as llama.cpp does, so no softmax is needed. -Infinity when off.
 */
export function minPFloor(minP: number, maxLogit: number): number {
  return minP > 0 ? maxLogit + Math.log(minP) : -Infinity;
}
