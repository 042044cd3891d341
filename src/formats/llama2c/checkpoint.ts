/**
 * Karpathy's llama2.c checkpoints (run.c / export.py), exposed as a
 * TensorSource with GGUF tensor names so the Llama model loads them unchanged.
 *
 * Version 0 (legacy): 7 int32 {dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *   vocab_size, seq_len}; a negative vocab_size means "classifier not shared"
 *   (llama2.c signals it in-band; we turn it into a flag). Then f32 weights:
 *   tok_embd, attn_norm[L], wq[L], wk[L], wv[L], wo[L], ffn_norm[L], w1[L],
 *   w2[L], w3[L], output_norm, freq_cis_real, freq_cis_imag (both unused:
 *   we compute RoPE), then wcls if unshared.
 * Version 1: 256-byte header: u32 magic "ak42", i32 version, the 7 ints, u8
 *   shared_classifier; weights: attn_norm[L], ffn_norm[L], output_norm,
 *   tok_embd, wq[L], wk[L], wv[L], wo[L], w1[L], w2[L], w3[L], [wcls].
 * Version 2 (int8 with per-group f32 scales) has no exact GGUF counterpart
 * and is rejected with a clear error.
 */
import { StreamLlmError } from '../../errors.js';
import { GgmlType } from '../../tensor/dtype.js';
import { fileSource, type ByteSource } from '../gguf/source.js';
import type { TensorDesc, TensorSource } from '../tensor-source.js';

export const LLAMA2C_MAGIC = 0x616b3432; // "ak42"

export interface Llama2cConfig {
  readonly version: 0 | 1;
  readonly dim: number;
  readonly hiddenDim: number;
  readonly layers: number;
  readonly nHeads: number;
  readonly kvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly sharedClassifier: boolean;
}

interface Placed extends TensorDesc {
  readonly offset: number;
}

function bad(file: string, msg: string, offset: number, field?: string): StreamLlmError {
  return new StreamLlmError('LLAMA2C_BAD_HEADER', msg, {
    context: { file, offset, ...(field !== undefined ? { field } : {}) },
    hint: 'expected a llama2.c checkpoint (legacy 7-int header, or "ak42" version 1)',
  });
}

/** Parse and validate the header; sizes are checked against the file later. */
export function parseLlama2cHeader(head: Uint8Array, file: string): { config: Llama2cConfig; dataOffset: number } {
  if (head.length < 28) throw bad(file, `file is ${head.length} bytes, too short for a llama2.c header`, 0);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let version: 0 | 1 = 0;
  let o = 0;
  if (dv.getUint32(0, true) === LLAMA2C_MAGIC) {
    const v = dv.getInt32(4, true);
    if (v === 2) {
      throw new StreamLlmError('LLAMA2C_BAD_HEADER', 'llama2.c version 2 (int8 groups) checkpoints are not supported', {
        context: { file, offset: 4, field: 'version', actual: v },
        hint: 'export the model as version 0 or 1 (fp32), or convert it to GGUF with llama.cpp',
      });
    }
    if (v !== 1) throw bad(file, `unsupported llama2.c version ${v}`, 4, 'version');
    if (head.length < 256) throw bad(file, 'truncated version 1 header (needs 256 bytes)', head.length);
    version = 1;
    o = 8;
  }
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
  const vals = names.map((_, i) => dv.getInt32(o + 4 * i, true));
  let [dim, hiddenDim, layers, nHeads, kvHeads, vocab, seqLen] = vals as [number, number, number, number, number, number, number];
  let shared = vocab > 0;
  if (version === 1) {
    shared = head[o + 28] === 1;
  }
  vocab = Math.abs(vocab);
  const limits: Record<(typeof names)[number], number> = {
    dim: 1 << 16,
    hidden_dim: 1 << 18,
    n_layers: 1024,
    n_heads: 1024,
    n_kv_heads: 1024,
    vocab_size: 1 << 22,
    seq_len: 1 << 24,
  };
  [dim, hiddenDim, layers, nHeads, kvHeads, vocab, seqLen].forEach((v, i) => {
    const n = names[i]!;
    if (!(v >= 1 && v <= limits[n])) throw bad(file, `${n} = ${vals[i]} is out of range`, o + 4 * i, n);
  });
  if (dim % nHeads !== 0 || nHeads % kvHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw bad(file, `inconsistent heads: dim ${dim}, n_heads ${nHeads}, n_kv_heads ${kvHeads}`, o + 12, 'n_heads');
  }
  return {
    config: { version, dim, hiddenDim, layers, nHeads, kvHeads, vocabSize: vocab, seqLen, sharedClassifier: shared },
    dataOffset: version === 1 ? 256 : 28,
  };
}

/** Tensor placement in file order, with GGUF names and ggml dims. */
function layout(c: Llama2cConfig, dataOffset: number): { tensors: Placed[]; end: number } {
  const headSize = c.dim / c.nHeads;
  const kvDim = c.kvHeads * headSize;
  const tensors: Placed[] = [];
  let off = dataOffset;
  const put = (name: string, dims: number[]) => {
    const n = dims.reduce((a, b) => a * b, 1);
    tensors.push({ name, type: GgmlType.F32, dims, nBytes: n * 4, offset: off });
    off += n * 4;
  };
  const perLayer = (suffix: string, dims: number[]) => {
    for (let l = 0; l < c.layers; l++) put(`blk.${l}.${suffix}`, dims);
  };
  const matrices = () => {
    perLayer('attn_q.weight', [c.dim, c.dim]);
    perLayer('attn_k.weight', [c.dim, kvDim]);
    perLayer('attn_v.weight', [c.dim, kvDim]);
    perLayer('attn_output.weight', [c.dim, c.dim]);
  };
  if (c.version === 0) {
    put('token_embd.weight', [c.dim, c.vocabSize]);
    perLayer('attn_norm.weight', [c.dim]);
    matrices();
    perLayer('ffn_norm.weight', [c.dim]);
    perLayer('ffn_gate.weight', [c.dim, c.hiddenDim]);
    perLayer('ffn_down.weight', [c.hiddenDim, c.dim]);
    perLayer('ffn_up.weight', [c.dim, c.hiddenDim]);
    put('output_norm.weight', [c.dim]);
    off += 2 * c.seqLen * (headSize / 2) * 4; // freq_cis_real / _imag: skipped
  } else {
    perLayer('attn_norm.weight', [c.dim]);
    perLayer('ffn_norm.weight', [c.dim]);
    put('output_norm.weight', [c.dim]);
    put('token_embd.weight', [c.dim, c.vocabSize]);
    matrices();
    perLayer('ffn_gate.weight', [c.dim, c.hiddenDim]);
    perLayer('ffn_down.weight', [c.hiddenDim, c.dim]);
    perLayer('ffn_up.weight', [c.dim, c.hiddenDim]);
  }
  if (!c.sharedClassifier) put('output.weight', [c.dim, c.vocabSize]);
  return { tensors, end: off };
}

export class Llama2cCheckpoint implements TensorSource {
  readonly tensors: readonly TensorDesc[];
  private readonly byName = new Map<string, Placed>();

  private constructor(
    private readonly src: ByteSource,
    readonly config: Llama2cConfig,
    placed: Placed[],
  ) {
    this.tensors = placed;
    for (const t of placed) this.byName.set(t.name, t);
  }

  get name(): string {
    return this.src.name;
  }

  static open(path: string): Llama2cCheckpoint {
    return Llama2cCheckpoint.fromSource(fileSource(path));
  }

  static fromSource(src: ByteSource): Llama2cCheckpoint {
    try {
      const head = new Uint8Array(Math.min(256, src.size));
      src.read(0, head);
      const { config, dataOffset } = parseLlama2cHeader(head, src.name);
      const { tensors, end } = layout(config, dataOffset);
      if (end > src.size) {
        throw new StreamLlmError('LLAMA2C_TRUNCATED', `checkpoint needs ${end} bytes for its header's shapes but the file has ${src.size}`, {
          context: { file: src.name, offset: src.size, expected: end, actual: src.size },
          hint: 'the file is truncated, or the header does not describe it',
        });
      }
      return new Llama2cCheckpoint(src, config, tensors);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  read(name: string, dest: Uint8Array): void {
    const t = this.byName.get(name);
    if (t === undefined) throw new StreamLlmError('MISSING_TENSOR', `no tensor '${name}' in llama2.c checkpoint`, { context: { file: this.name, tensor: name } });
    this.src.read(t.offset, dest.subarray(0, t.nBytes));
  }

  close(): void {
    this.src.close();
  }
}

/** True if the first bytes look like a llama2.c checkpoint (v1 magic, or a sane v0 header). */
export function looksLikeLlama2c(head: Uint8Array): boolean {
  try {
    parseLlama2cHeader(head, '');
    return true;
  } catch {
    return false;
  }
}
