/**
 * Random-weight Llama GGUF files with realistic structure, for tests and
 * benchmarks (speed does not depend on the weights' values, and exactness
 * tests compare two engines on the same file). Weights are drawn from a seeded
 * RNG and scaled like a trained model's (≈ 1/sqrt(fan-in)) so activations stay
 * in a realistic range; tensors are produced lazily so a multi-GB file never
 * sits in memory.
 */
import { writeGguf, type GgufWriterTensor } from '../formats/gguf/writer.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import { llamaGgufMetadata } from '../models/hparams.js';
import { ARCHS } from '../models/registry.js';
import type { Hparams } from '../models/types.js';
import { SeededRng } from '../sampling/rng.js';
import { GgmlType } from '../tensor/dtype.js';
import { quantize } from '../tensor/quant.js';

export interface RandomModelOptions {
  readonly hparams: Hparams;
  /** Type of 2-D matrices (rows must be block-aligned for quantized types); vectors stay F32. */
  readonly type?: GgmlType;
  readonly seed?: number;
  /** Extra metadata, e.g. a tokenizer's `tokenizer.ggml.*` entries. */
  readonly metadata?: readonly [string, GgufEntry][];
  /** Leave out `output.weight` to tie the classifier to the embedding. */
  readonly tiedOutput?: boolean;
  readonly name?: string;
}

/** Writes the model to `path`; returns bytes written. */
export function writeRandomLlama(path: string, opts: RandomModelOptions): number {
  const hp = opts.hparams;
  const type = opts.type ?? GgmlType.F32;
  const rng = new SeededRng(opts.seed ?? 1234);
  const specs = ARCHS.llama.tensorSpecs(hp).filter((s) => !s.optional || (s.name === 'output.weight' && opts.tiedOutput !== true));
  const tensors: GgufWriterTensor[] = specs.map((s) => {
    const n = s.dims.reduce((a, b) => a * b, 1);
    const matrix = s.dims.length >= 2;
    const t = matrix && s.dims[0]! % 32 === 0 ? type : GgmlType.F32;
    return {
      name: s.name,
      type: t,
      dims: s.dims,
      data: () => {
        const x = new Float32Array(n);
        if (matrix) {
          // Uniform in ±sqrt(3/fan_in): variance 1/fan_in, like a trained init.
          const a = Math.sqrt(3 / s.dims[0]!);
          for (let i = 0; i < n; i++) x[i] = (rng.nextFloat() * 2 - 1) * a;
        } else {
          for (let i = 0; i < n; i++) x[i] = 0.8 + 0.4 * rng.nextFloat(); // norm gains near 1
        }
        return quantize(t, x);
      },
    };
  });
  const metadata: [string, GgufEntry][] = [
    ...llamaGgufMetadata(hp, opts.name ?? 'random-llama'),
    ['general.file_type', { type: GgufValueType.UINT32, value: type === GgmlType.F32 ? 0 : type === GgmlType.F16 ? 1 : type === GgmlType.Q4_0 ? 2 : type === GgmlType.Q8_0 ? 7 : 32 }],
    ...(opts.metadata ?? []),
  ];
  return writeGguf(path, { metadata, tensors });
}
