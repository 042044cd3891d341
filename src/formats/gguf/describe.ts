/**
 * Human-oriented summaries of a GGUF file, for `streamllm inspect` and for
 * error hints. Pure functions of a parsed GgufFile; no I/O.
 */
import { typeName } from '../../tensor/dtype.js';
import type { GgufFile } from './reader.js';
import { GgufValueType, isGgufArray, type GgufEntry, type GgufValue } from './types.js';

export interface TensorRow {
  readonly name: string;
  /** ggml type name, e.g. 'Q8_0'. */
  readonly type: string;
  /** ggml order (dims[0] contiguous), as stored. */
  readonly shape: readonly number[];
  readonly bytes: number;
  /** Absolute file offset of the data. */
  readonly offset: number;
}

/**
 * One row per tensor, in file order.
 *
 * @example
 * for (const r of tensorRows(file)) console.log(r.name, r.type, r.shape.join('x'), r.bytes);
 */
export function tensorRows(file: GgufFile): TensorRow[] {
  return file.tensors.map((t) => ({ name: t.name, type: typeName(t.type), shape: t.dims, bytes: t.nBytes, offset: t.offset }));
}

/** Type name as a reader would write it: 'UINT32', 'array<STRING>[32000]'. */
export function entryTypeName(entry: GgufEntry): string {
  if (isGgufArray(entry.value)) return `array<${GgufValueType[entry.value.itemType]}>[${entry.value.items.length}]`;
  return GgufValueType[entry.type] ?? `unknown(${entry.type})`;
}

/**
 * A one-line rendering of a value, cutting long arrays to `maxItems` and long
 * strings to `maxChars` so a 150k-token vocabulary prints as one line.
 *
 * @example
 * formatValue(file.get('tokenizer.ggml.tokens').value) // '["<unk>", "<s>", "</s>", … 31997 more]'
 */
export function formatValue(value: GgufValue, maxItems = 8, maxChars = 80): string {
  if (typeof value === 'string') {
    const s = value.length > maxChars ? `${value.slice(0, maxChars)}…` : value;
    return JSON.stringify(s);
  }
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  const shown = value.items.slice(0, maxItems).map((v) => formatValue(v, maxItems, maxChars));
  const rest = value.items.length - shown.length;
  if (rest > 0) shown.push(`… ${rest} more`);
  return `[${shown.join(', ')}]`;
}
