/**
 * Safetensors writer: header JSON (space-padded so the data section starts
 * 8-byte aligned, as the reference writer does), then each tensor's bytes in
 * the order given, back to back. Data may be produced lazily, one tensor at a
 * time, so a converter never holds more than one tensor.
 */
import { requireArg } from '../../errors.js';
import { writeFileStreamed } from '../write-file.js';
import { DTYPE_BYTES, type SafetensorsDtype } from './header.js';

export interface SafetensorsWriterTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  /** Row-major (outermost first): the reverse of ggml dims. */
  readonly shape: readonly number[];
  /** Little-endian element bytes, or a function producing them when written. */
  readonly data: Uint8Array | (() => Uint8Array);
}

export interface SafetensorsWriteOptions {
  readonly tensors: readonly SafetensorsWriterTensor[];
  /** Written as "__metadata__" (transformers writes { format: 'pt' }). */
  readonly metadata?: Readonly<Record<string, string>>;
}

interface Layout {
  readonly header: Uint8Array;
  readonly sizes: readonly number[];
  readonly total: number;
}

function layout(opts: SafetensorsWriteOptions): Layout {
  // Entries, not an object: a tensor called "__proto__" must stay a key.
  const header: [string, unknown][] = [];
  if (opts.metadata !== undefined) header.push(['__metadata__', Object.fromEntries(Object.entries(opts.metadata))]);
  const seen = new Set<string>();
  const sizes: number[] = [];
  let offset = 0;
  for (const t of opts.tensors) {
    requireArg(t.name.length > 0 && t.name !== '__metadata__', `invalid tensor name '${t.name}'`, { tensor: t.name });
    requireArg(!seen.has(t.name), `tensor '${t.name}' is given twice`, { tensor: t.name });
    requireArg(Object.hasOwn(DTYPE_BYTES, t.dtype), `unknown dtype '${t.dtype}'`, { tensor: t.name });
    requireArg(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `tensor '${t.name}' has a bad shape [${t.shape.join(', ')}]`, { tensor: t.name });
    seen.add(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header.push([t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] }]);
    sizes.push(n);
    offset += n;
  }
  let json = `{${header.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).length + 8) % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + body.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(body.length), true);
  head.set(body, 8);
  return { header: head, sizes, total: head.length + offset };
}

function dataOf(t: SafetensorsWriterTensor, size: number): Uint8Array {
  const d = typeof t.data === 'function' ? t.data() : t.data;
  requireArg(d.length === size, `tensor '${t.name}': ${d.length} bytes given, shape × ${t.dtype} needs ${size}`, {
    tensor: t.name,
    expected: size,
    actual: d.length,
  });
  return d;
}

/**
 * The whole file in memory (tests, small models).
 * @example
 * const bytes = encodeSafetensors({ tensors: [{ name: 'w', dtype: 'F32', shape: [2, 2], data: new Uint8Array(16) }] });
 */
export function encodeSafetensors(opts: SafetensorsWriteOptions): Uint8Array {
  const l = layout(opts);
  const out = new Uint8Array(l.total);
  out.set(l.header);
  let pos = l.header.length;
  opts.tensors.forEach((t, i) => {
    out.set(dataOf(t, l.sizes[i]!), pos);
    pos += l.sizes[i]!;
  });
  return out;
}

/**
 * Writes `path` one tensor at a time; on any error the partial file is
 * removed. Returns the file size.
 * @example
 * writeSafetensors('model.safetensors', { metadata: { format: 'pt' }, tensors });
 */
export function writeSafetensors(path: string, opts: SafetensorsWriteOptions): number {
  const l = layout(opts);
  return writeFileStreamed(path, (put) => {
    put(l.header);
    opts.tensors.forEach((t, i) => put(dataOf(t, l.sizes[i]!)));
  });
}
