/**
 * A safetensors checkpoint seen as a GGUF-named TensorSource: the tensor
 * table of the architecture (tensorSpecs), each entry resolved to its HF
 * tensor, checked (dtype, shape) and read with the layout fixes of
 * tensors.ts. Matrices keep the checkpoint's F32/F16/BF16 (the engine
 * computes with all three); 1-D tensors (norm weights, biases) are offered as
 * F32, which is what the model uses them as and what llama.cpp expects in a
 * GGUF.
 */
import { requireArg, StreamLlmError } from '../../errors.js';
import type { CheckpointTensorInfo, SafetensorsCheckpoint } from '../../formats/safetensors/checkpoint.js';
import type { SafetensorsDtype } from '../../formats/safetensors/header.js';
import type { TensorDesc, TensorSource } from '../../formats/tensor-source.js';
import { GgmlType, typeTraits } from '../../tensor/dtype.js';
import { dequantize } from '../../tensor/quant.js';
import { archModule } from '../registry.js';
import type { Hparams } from '../types.js';
import type { HfTensorMap } from './tensors.js';

const GGML_OF: Partial<Record<SafetensorsDtype, GgmlType>> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

interface Planned {
  readonly desc: TensorDesc;
  readonly hf: CheckpointTensorInfo;
  readonly rows: Int32Array | undefined;
}

export interface HfSourceOptions {
  /** `tie_word_embeddings`: an absent lm_head means "reuse the embedding". */
  readonly tied: boolean;
}

/**
 * @example
 * const src = new HfTensorSource(ck, hp, hfTensorMap(hp, 'permute'), { tied: false });
 * loadWeights(hp, src, ops);
 */
export class HfTensorSource implements TensorSource {
  readonly name: string;
  readonly tensors: readonly TensorDesc[];
  private readonly plan: ReadonlyMap<string, Planned>;

  constructor(
    private readonly ck: SafetensorsCheckpoint,
    hp: Hparams,
    map: HfTensorMap,
    opts: HfSourceOptions,
  ) {
    this.name = ck.name;
    this.plan = planTensors(ck, hp, map, opts);
    this.tensors = [...this.plan.values()].map((p) => p.desc);
  }

  /** Which HF tensor a GGUF name reads (for messages and tools). */
  hfTensor(name: string): CheckpointTensorInfo | undefined {
    return this.plan.get(name)?.hf;
  }

  read(name: string, dest: Uint8Array): void {
    const p = this.plan.get(name);
    if (p === undefined) throw new StreamLlmError('MISSING_TENSOR', `tensor '${name}' is not in ${this.name}`, { context: { file: this.name, tensor: name } });
    requireArg(dest.length === p.desc.nBytes, `destination holds ${dest.length} bytes, tensor '${name}' needs ${p.desc.nBytes}`, {
      tensor: name,
      expected: p.desc.nBytes,
      actual: dest.length,
    });
    const srcType = GGML_OF[p.hf.dtype]!;
    if (srcType === p.desc.type) {
      this.ck.readTensor(p.hf.name, dest);
    } else {
      // Only 1-D tensors are converted, so this temporary is small.
      const raw = this.ck.readTensor(p.hf.name, new Uint8Array(p.hf.nBytes));
      const n = p.hf.nElements;
      const f32 = dest.byteOffset % 4 === 0 ? new Float32Array(dest.buffer, dest.byteOffset, n) : new Float32Array(n);
      dequantize(srcType, raw, 0, f32, 0, n);
      if (f32.buffer !== dest.buffer) dest.set(new Uint8Array(f32.buffer));
    }
    if (p.rows !== undefined) permuteRows(dest, p.rows, p.desc.nBytes / p.rows.length);
  }

  close(): void {
    this.ck.close();
  }
}

/**
 * out[r] = in[rows[r]] in place, following each cycle of the permutation
 * with one row of scratch: no second copy of a (possibly huge) tensor.
 */
export function permuteRows(buf: Uint8Array, rows: Int32Array, rowBytes: number): void {
  const n = rows.length;
  const done = new Uint8Array(n);
  const tmp = new Uint8Array(rowBytes);
  for (let start = 0; start < n; start++) {
    if (done[start] === 1 || rows[start] === start) continue;
    tmp.set(buf.subarray(start * rowBytes, (start + 1) * rowBytes));
    let j = start;
    for (;;) {
      done[j] = 1;
      const from = rows[j]!;
      if (from === start) {
        buf.set(tmp, j * rowBytes);
        break;
      }
      buf.copyWithin(j * rowBytes, from * rowBytes, (from + 1) * rowBytes);
      j = from;
    }
  }
}

function planTensors(ck: SafetensorsCheckpoint, hp: Hparams, map: HfTensorMap, opts: HfSourceOptions): Map<string, Planned> {
  const plan = new Map<string, Planned>();
  const used = new Set<string>();
  for (const spec of archModule(hp).tensorSpecs(hp)) {
    let hfName = map.hfName(spec.name);
    if (hfName === undefined) continue; // no HF counterpart (llama's rope_freqs, Qwen2's output bias)
    let hf = ck.tensor(hfName);
    if (hf === undefined && spec.name === 'output.weight' && opts.tied) {
      if (spec.optional === true) continue; // the model itself ties an absent classifier
      hfName = map.hfName('token_embd.weight')!;
      hf = ck.tensor(hfName);
    }
    if (hf === undefined) {
      // An optional classifier may be absent only when tied (handled above).
      if (spec.optional === true && spec.name !== 'output.weight') continue;
      throw new StreamLlmError('MISSING_TENSOR', `tensor '${hfName}' (${spec.name}) is missing`, {
        context: { file: ck.name, tensor: hfName, gguf: spec.name },
        ...(spec.name === 'output.weight' ? { hint: 'config.json says tie_word_embeddings is false, so the checkpoint must hold the output projection' } : {}),
      });
    }
    used.add(hfName);
    const srcType = GGML_OF[hf.dtype];
    if (srcType === undefined) {
      throw new StreamLlmError('UNSUPPORTED_TENSOR_TYPE', `tensor '${hf.name}' has dtype ${hf.dtype}; weights must be F32, F16 or BF16`, {
        context: { file: hf.file, tensor: hf.name, actual: hf.dtype },
      });
    }
    const dims = [...hf.shape].reverse();
    if (dims.length !== spec.dims.length || dims.some((d, i) => d !== spec.dims[i])) {
      throw new StreamLlmError('TENSOR_SHAPE_MISMATCH', `tensor '${hf.name}' has shape [${hf.shape.join(', ')}], expected [${[...spec.dims].reverse().join(', ')}] for ${hp.arch} with this config.json`, {
        context: { file: hf.file, tensor: hf.name, gguf: spec.name, expected: [...spec.dims].reverse(), actual: hf.shape },
      });
    }
    const type = dims.length === 1 ? GgmlType.F32 : srcType;
    const desc: TensorDesc = { name: spec.name, type, dims, nBytes: hf.nElements * typeTraits(type)!.typeSize };
    const rows = map.rows(spec.name);
    // The maps are built from the same hparams the shape was just checked against.
    if (rows !== undefined && rows.length !== (dims.length === 1 ? dims[0] : dims[1])) {
      throw new StreamLlmError('TENSOR_SHAPE_MISMATCH', `tensor '${hf.name}' has ${dims[1] ?? dims[0]} rows, the layout fix expects ${rows.length}`, {
        context: { file: hf.file, tensor: hf.name },
      });
    }
    plan.set(spec.name, { desc, hf, rows });
  }
  for (const t of ck.tensors) {
    if (!used.has(t.name) && !map.ignore.test(t.name)) {
      throw new StreamLlmError('UNEXPECTED_TENSOR', `tensor '${t.name}' is not part of a ${hp.arch} model as this loader knows it`, {
        context: { file: t.file, tensor: t.name },
        hint: 'the checkpoint may be a variant this version does not support (check config.json), or hold extra heads',
      });
    }
  }
  return plan;
}
