/**
 * Where weights come from, independent of the file format: a GGUF file, a
 * llama2.c checkpoint, later safetensors. Names and dims follow GGUF/ggml
 * conventions (dims[0] innermost), so model code sees one naming scheme.
 */
import type { GgmlType } from '../tensor/dtype.js';

export interface TensorDesc {
  readonly name: string;
  readonly type: GgmlType;
  readonly dims: readonly number[];
  readonly nBytes: number;
}

export interface TensorSource {
  readonly name: string;
  readonly tensors: readonly TensorDesc[];
  /** Copy the tensor's bytes straight into `dest` (engine memory): no intermediate copy. */
  read(name: string, dest: Uint8Array): void;
  close(): void;
}
