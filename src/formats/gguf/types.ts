/**
 * GGUF data model (spec: github.com/ggml-org/ggml/blob/master/docs/gguf.md).
 * Shared by the reader and the writer so a file round-trips with its types.
 */
import type { GgmlType } from '../../tensor/dtype.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** 64-bit integers stay bigint so nothing is silently rounded. */
export type GgufScalar = number | bigint | boolean | string;

export interface GgufArray {
  readonly itemType: GgufValueType;
  /** Nested arrays are allowed by the spec (itemType ARRAY). */
  readonly items: readonly GgufValue[];
}

export type GgufValue = GgufScalar | GgufArray;

/** A metadata entry keeps its declared type so the writer can reproduce it. */
export interface GgufEntry {
  readonly type: GgufValueType;
  readonly value: GgufValue;
}

export interface GgufTensorInfo {
  readonly name: string;
  readonly type: GgmlType;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  readonly dims: readonly number[];
  readonly nElements: number;
  readonly nBytes: number;
  /** Offset relative to the start of the data section, as stored in the file. */
  readonly relOffset: number;
  /** Absolute byte offset in the file. */
  readonly offset: number;
}

export function isGgufArray(v: GgufValue | undefined): v is GgufArray {
  return typeof v === 'object' && v !== null && 'items' in v;
}
