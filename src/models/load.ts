/**
 * Weights into engine memory: checks every tensor against the architecture's
 * table (a missing, unexpected, misshapen or uncomputable tensor is reported
 * by name at load time), then reads each one straight from the file into
 * memory the kernel backend allocated.
 */
import { StreamLlmError } from '../errors.js';
import type { TensorSource } from '../formats/tensor-source.js';
import type { Ops, WeightMatrix } from '../kernels/types.js';
import { GgmlType, SUPPORTED_TYPES, typeName } from '../tensor/dtype.js';
import { dequantize } from '../tensor/quant.js';
import { archModule } from './registry.js';
import type { BuildOptions, Hparams, LoadedWeights, Model } from './types.js';

export interface WeightLoadOptions extends BuildOptions {
  /** Called after each tensor with bytes done / total (progress bars). */
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
}

export function loadWeights(hp: Hparams, src: TensorSource, ops: Ops, opts: WeightLoadOptions = {}): Model {
  const arch = archModule(hp);
  const specs = arch.tensorSpecs(hp);
  const byName = new Map(src.tensors.map((t) => [t.name, t]));
  const expected = new Set(specs.map((s) => s.name));
  for (const t of src.tensors) {
    if (!expected.has(t.name)) {
      throw new StreamLlmError('UNEXPECTED_TENSOR', `tensor '${t.name}' is not part of a ${hp.arch} model`, {
        context: { file: src.name, tensor: t.name },
        hint: 'the file may be a different architecture or a newer variant this version does not know',
      });
    }
  }
  const todo = [];
  let total = 0;
  for (const spec of specs) {
    const t = byName.get(spec.name);
    if (t === undefined) {
      if (spec.optional === true) continue;
      throw new StreamLlmError('MISSING_TENSOR', `tensor '${spec.name}' is missing`, { context: { file: src.name, tensor: spec.name } });
    }
    if (t.dims.length !== spec.dims.length || t.dims.some((d, i) => d !== spec.dims[i])) {
      throw new StreamLlmError('TENSOR_SHAPE_MISMATCH', `tensor '${t.name}' has shape [${t.dims.join(', ')}], expected [${spec.dims.join(', ')}]`, {
        context: { file: src.name, tensor: t.name, expected: spec.dims, actual: t.dims },
      });
    }
    if (!SUPPORTED_TYPES.has(t.type)) {
      throw new StreamLlmError('UNSUPPORTED_TENSOR_TYPE', `tensor '${t.name}' has type ${typeName(t.type)}, which this engine cannot compute with yet`, {
        context: { file: src.name, tensor: t.name, actual: typeName(t.type) },
        hint: `supported: ${[...SUPPORTED_TYPES].map(typeName).join(', ')}; requantize with llama.cpp's llama-quantize (e.g. to Q8_0 or Q4_0)`,
      });
    }
    todo.push(t);
    total += t.nBytes;
  }

  const matrices = new Map<string, WeightMatrix>();
  const vectors = new Map<string, Float32Array>();
  let done = 0;
  for (const t of todo) {
    if (t.dims.length === 1) {
      // Norm weights and biases: tiny; decoded to f32 once, into engine memory (the kernels read them in place).
      const raw = new Uint8Array(t.nBytes);
      src.read(t.name, raw);
      const v = ops.allocF32(t.dims[0]!);
      dequantize(t.type, raw, 0, v, 0, v.length);
      vectors.set(t.name, v);
    } else {
      const data = ops.alloc(t.nBytes);
      src.read(t.name, data);
      const cols = t.dims[0]!;
      const m: WeightMatrix = { name: t.name, type: t.type as GgmlType, rows: t.nBytes === 0 ? 0 : t.dims.slice(1).reduce((a, b) => a * b, 1), cols, data };
      // The backend may re-lay the matrix out in place for its kernels (wasm: interleaved rows).
      matrices.set(t.name, ops.adoptWeight?.(m) ?? m);
    }
    done += t.nBytes;
    opts.onProgress?.(done, total, t.name);
  }
  const weights: LoadedWeights = { get: (n) => matrices.get(n), vector: (n) => vectors.get(n) };
  return arch.build(hp, weights, ops, opts);
}
