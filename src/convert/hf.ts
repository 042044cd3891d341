/**
 * Hugging Face checkpoint folder (config.json + safetensors + tokenizer.json)
 * → a GGUF that llama.cpp and streamllm load: the architecture's metadata
 * keys (registry ggufMetadata), the tokenizer as `tokenizer.ggml.*`, and the
 * tensors under GGUF names in GGUF layouts (Llama q/k permuted, fused QKV
 * regrouped; see models/hf/tensors.ts). Tensors are read and written one at
 * a time, so converting a 14 GB checkpoint needs one tensor of memory.
 */
import { basename, resolve } from 'node:path';
import { requireArg } from '../errors.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import { writeGguf, type GgufWriterTensor } from '../formats/gguf/writer.js';
import { hfTokenizerHints, openHfWeights } from '../models/hf/index.js';
import { ggufMetadataFor } from '../models/registry.js';
import { GgmlType, typeTraits } from '../tensor/dtype.js';
import { dequantize, quantize } from '../tensor/quant.js';
import { hfVocabToGgufMetadata, readHfTokenizerFiles, vocabFromHf } from '../tokenizer/from-hf.js';
import { WEIGHT_TYPES, type WeightType } from './llama2c.js';

export interface ConvertHfOptions {
  /** The checkpoint folder. */
  readonly dir: string;
  readonly output: string;
  /**
   * Type for 2-D weight matrices (quantized types only where rows are whole
   * 32-blocks; others stay F32). Default: keep the checkpoint's F32/F16/BF16.
   * 1-D tensors are always F32, as llama.cpp expects.
   */
  readonly type?: WeightType;
  /** general.name; default the config's `_name_or_path`, else the folder name. */
  readonly name?: string;
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
}

/** llama.cpp's `general.file_type` (LLAMA_FTYPE_*) for a matrix type. */
const FILE_TYPE: Partial<Record<GgmlType, number>> = {
  [GgmlType.F32]: 0,
  [GgmlType.F16]: 1,
  [GgmlType.Q4_0]: 2,
  [GgmlType.Q8_0]: 7,
  [GgmlType.BF16]: 32,
};

export interface ConvertHfResult {
  readonly bytes: number;
  /** False when the folder had no tokenizer.json (llama.cpp then refuses the file). */
  readonly tokenizer: boolean;
}

/**
 * @example
 * convertHf({ dir: 'pythia-160m', output: 'pythia-160m.gguf', type: 'q8_0' });
 */
export function convertHf(opts: ConvertHfOptions): ConvertHfResult {
  requireArg(opts.type === undefined || Object.hasOwn(WEIGHT_TYPES, opts.type), `unknown weight type '${String(opts.type)}'`, { field: 'type' });
  const w = openHfWeights(opts.dir);
  try {
    const hp = w.hparams;
    const files = readHfTokenizerFiles(opts.dir);
    const vocab = files === undefined ? undefined : vocabFromHf(files, hfTokenizerHints(w));
    const src = w.source;
    const wanted = opts.type === undefined ? undefined : WEIGHT_TYPES[opts.type];
    const targetOf = (type: GgmlType, dims: readonly number[]): GgmlType => {
      if (dims.length < 2) return GgmlType.F32;
      if (wanted === undefined) return type;
      const block = typeTraits(wanted)!.blockSize;
      return dims[0]! % block === 0 ? wanted : GgmlType.F32;
    };
    const targets = src.tensors.map((t) => targetOf(t.type, t.dims));
    const mainType = targets.find((_, i) => src.tensors[i]!.dims.length >= 2) ?? GgmlType.F32;
    const nameOr = w.config.value('_name_or_path');
    const name = opts.name ?? (typeof nameOr === 'string' && nameOr.length > 0 ? basename(nameOr) : basename(resolve(opts.dir)));
    const metadata: [string, GgufEntry][] = [
      ...ggufMetadataFor(hp, name),
      ['general.file_type', { type: GgufValueType.UINT32, value: FILE_TYPE[mainType] ?? 0 }],
      ...(vocab !== undefined ? hfVocabToGgufMetadata(vocab) : []),
    ];
    const total = src.tensors.reduce((s, t) => s + t.nBytes, 0);
    let done = 0;
    const tensors: GgufWriterTensor[] = src.tensors.map((t, i) => ({
      name: t.name,
      type: targets[i]!,
      dims: t.dims,
      data: () => {
        const raw = new Uint8Array(t.nBytes);
        src.read(t.name, raw);
        done += t.nBytes;
        opts.onProgress?.(done, total, t.name);
        if (targets[i] === t.type) return raw;
        const n = t.dims.reduce((a, b) => a * b, 1);
        const f32 = new Float32Array(n);
        dequantize(t.type, raw, 0, f32, 0, n);
        return quantize(targets[i]!, f32);
      },
    }));
    return { bytes: writeGguf(opts.output, { metadata, tensors }), tokenizer: vocab !== undefined };
  } finally {
    w.close();
  }
}
