/**
 * llama2.c checkpoint (+ tokenizer.bin) → a `llama` GGUF that llama.cpp loads.
 * llama2.c keeps Meta's adjacent-pair RoPE layout, which is what GGUF `llama`
 * files use, so Q/K weights are written as they are (no permutation).
 */
import { Llama2cCheckpoint } from '../formats/llama2c/checkpoint.js';
import { readLlama2cTokenizer } from '../formats/llama2c/tokenizer.js';
import { writeGguf, type GgufWriterTensor } from '../formats/gguf/writer.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import { llama2cHparams } from '../models/hparams.js';
import { llamaGgufMetadata } from '../models/llama.js';
import { GgmlType } from '../tensor/dtype.js';
import { quantize } from '../tensor/quant.js';
import { spmVocabToGgufMetadata } from '../tokenizer/spm-vocab.js';
import { basename } from 'node:path';
import { requireArg } from '../errors.js';

export type WeightType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0';

export const WEIGHT_TYPES: Record<WeightType, GgmlType> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  bf16: GgmlType.BF16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};

/** llama.cpp's `general.file_type` codes (LLAMA_FTYPE_*) for our weight types. */
const FILE_TYPE: Record<WeightType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };

export interface ConvertLlama2cOptions {
  readonly model: string;
  readonly tokenizer?: string;
  readonly output: string;
  /** Type for 2-D weight matrices; norms stay F32. Default f32 (lossless). */
  readonly type?: WeightType;
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
}

/** Returns the number of bytes written. */
export function convertLlama2c(opts: ConvertLlama2cOptions): number {
  const type = opts.type ?? 'f32';
  requireArg(type in WEIGHT_TYPES, `unknown weight type '${type}'`, { field: 'type' });
  const ck = Llama2cCheckpoint.open(opts.model);
  try {
    const hp = llama2cHparams(ck.config, opts.model);
    const metadata: [string, GgufEntry][] = [
      ...llamaGgufMetadata(hp, basename(opts.model).replace(/\.bin$/, '')),
      ['general.file_type', { type: GgufValueType.UINT32, value: FILE_TYPE[type] }],
    ];
    if (opts.tokenizer !== undefined) {
      metadata.push(...spmVocabToGgufMetadata(readLlama2cTokenizer(opts.tokenizer, { vocabSize: hp.vocabSize, name: opts.tokenizer })));
    }
    const total = ck.tensors.reduce((s, t) => s + t.nBytes, 0);
    let done = 0;
    const tensors: GgufWriterTensor[] = ck.tensors.map((t) => {
      // Quantize matrices whose rows are whole blocks; vectors stay F32 as llama.cpp expects.
      const target = t.dims.length >= 2 && t.dims[0]! % 32 === 0 ? WEIGHT_TYPES[type] : GgmlType.F32;
      return {
        name: t.name,
        type: target,
        dims: t.dims,
        data: () => {
          const raw = new Uint8Array(t.nBytes);
          ck.read(t.name, raw);
          done += t.nBytes;
          opts.onProgress?.(done, total, t.name);
          return target === GgmlType.F32 ? raw : quantize(target, new Float32Array(raw.buffer));
        },
      };
    });
    return writeGguf(opts.output, { metadata, tensors });
  } finally {
    ck.close();
  }
}
