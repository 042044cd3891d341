/**
 * ALiBi slopes (Press et al. 2022) exactly as ggml computes them in
 * `ggml_soft_max_ext` with `max_bias`, which is what MPT GGUF files are
 * evaluated with in llama.cpp:
 *   n = largest power of two ≤ heads,  m0 = 2^(-maxBias / n),  m1 = 2^(-maxBias / 2n)
 *   slope[h] = m0^(h+1)            for h < n
 *            = m1^(2(h - n) + 1)   otherwise (non-power-of-two head counts)
 * MosaicML's reference pads to the next power of two and interleaves instead
 * (ggml notes the discrepancy); for power-of-two head counts, as in every
 * released MPT, the two agree. Float32 at every step, like powf.
 * @example
 * alibiSlopes(8, 8); // [1/2, 1/4, ..., 1/256]
 * alibiSlopes(6, 8); // [1/4, 1/16, 1/64, 1/256, 1/2, 1/8]
 */
export function alibiSlopes(nHeads: number, maxBias: number): Float32Array {
  const fr = Math.fround;
  let n = 1;
  while (n * 2 <= nHeads) n *= 2;
  const m0 = fr(Math.pow(2, fr(-maxBias / n)));
  const m1 = fr(Math.pow(2, fr(fr(-maxBias / 2) / n)));
  const slopes = new Float32Array(nHeads);
  for (let h = 0; h < nHeads; h++) slopes[h] = h < n ? fr(Math.pow(m0, h + 1)) : fr(Math.pow(m1, 2 * (h - n) + 1));
  return slopes;
}
