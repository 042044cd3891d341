/**
 * Random-weight GGUF files with realistic structure, for any architecture we
 * run (tests and benchmarks: speed does not depend on the weights' values,
 * and exactness tests compare two engines on the same file). The tensor table
 * and the metadata keys come from the architecture module, so what we write
 * is what llama.cpp and our loader expect. Weights are drawn from a seeded RNG
 * and scaled like a trained model's (≈ 1/sqrt(fan-in)) so activations stay in
 * a realistic range; tensors are produced lazily so a multi-GB file never
 * sits in memory.
 */
import { writeGguf, type GgufWriterTensor } from '../formats/gguf/writer.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import { archModule, ggufMetadataFor } from '../models/registry.js';
import type { Hparams } from '../models/types.js';
import { SeededRng } from '../sampling/rng.js';
import { GgmlType } from '../tensor/dtype.js';
import { TokenType } from '../tokenizer/types.js';
import type { SpmVocab } from '../tokenizer/spm-vocab.js';
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
  /** Optional tensors of the architecture to write as well (e.g. Qwen2's 'output.bias'). */
  readonly optionalTensors?: readonly string[];
  /**
   * Multiplies `output.weight`: with LayerNorm/RMSNorm in front, logits then
   * have a standard deviation of about this, so 3–5 gives peaked next-token
   * distributions (a sharper test than near-uniform ones). Default 1.
   */
  readonly logitScale?: number;
  readonly name?: string;
}

// llama.cpp's LLAMA_FTYPE_* codes (Q4_K and Q6_K as their "_M" / plain variants).
const FILE_TYPE: Partial<Record<GgmlType, number>> = { [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q4_0]: 2, [GgmlType.Q8_0]: 7, [GgmlType.Q4_K]: 15, [GgmlType.Q6_K]: 18, [GgmlType.BF16]: 32 };

/**
 * Writes the model to `path`; returns bytes written.
 * @example
 * writeRandomModel('pythia-tiny.gguf', { hparams: { arch: 'gptneox', ... }, seed: 1, metadata: vocabEntries });
 */
export function writeRandomModel(path: string, opts: RandomModelOptions): number {
  const hp = opts.hparams;
  const type = opts.type ?? GgmlType.F32;
  const rng = new SeededRng(opts.seed ?? 1234);
  const extra = new Set(opts.optionalTensors ?? []);
  const wanted = (name: string, optional: boolean | undefined) =>
    optional !== true || (name === 'output.weight' ? opts.tiedOutput !== true : extra.has(name));
  const specs = archModule(hp)
    .tensorSpecs(hp)
    .filter((s) => wanted(s.name, s.optional));
  // Draw order is the table's order: it fixes the weights for a given seed (tests rely on it).
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
          const a = Math.sqrt(3 / s.dims[0]!) * (s.name === 'output.weight' ? (opts.logitScale ?? 1) : 1);
          for (let i = 0; i < n; i++) x[i] = (rng.nextFloat() * 2 - 1) * a;
        } else if (s.name.endsWith('.bias')) {
          for (let i = 0; i < n; i++) x[i] = (rng.nextFloat() * 2 - 1) * 0.2; // small shifts
        } else {
          for (let i = 0; i < n; i++) x[i] = 0.8 + 0.4 * rng.nextFloat(); // norm gains near 1
        }
        return quantize(t, x);
      },
    };
  });
  const metadata: [string, GgufEntry][] = [
    ...ggufMetadataFor(hp, opts.name ?? `random-${hp.arch}`),
    ['general.file_type', { type: GgufValueType.UINT32, value: FILE_TYPE[type] ?? 32 }],
    ...(opts.metadata ?? []),
  ];
  return writeGguf(path, { metadata, tensors });
}

/** The original name, from when only Llama was supported; same function. */
export const writeRandomLlama = writeRandomModel;

/**
 * A synthetic SentencePiece vocabulary of `n` tokens (<unk>, <s>, </s>, the 256
 * byte tokens, then placeholder pieces) so random-weight models carry a
 * tokenizer llama.cpp accepts. Speed and exactness tests feed token ids, so
 * the pieces themselves do not matter.
 */
export function syntheticSpmVocab(n: number): SpmVocab {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TokenType.BYTE);
  }
  for (let i = tokens.length; i < n; i++) {
    tokens.push(`\u2581t${i.toString(36)}`);
    types.push(TokenType.NORMAL);
  }
  const scores = Float32Array.from(tokens, (_, i) => -i);
  return { tokens, scores, types: Int32Array.from(types), bos: 1, eos: 2, unk: 0, addBos: true, addEos: false, addSpacePrefix: true, byteFallback: true };
}
