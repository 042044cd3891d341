/**
 * Opening a model file of any supported format: weights into engine memory,
 * normalized hyperparameters, and the tokenizer (embedded in GGUF, or a
 * llama2.c tokenizer.bin given alongside).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StreamLlmError } from '../errors.js';
import { GgufFile } from '../formats/gguf/reader.js';
import { Llama2cCheckpoint, LLAMA2C_MAGIC } from '../formats/llama2c/checkpoint.js';
import { readLlama2cTokenizer } from '../formats/llama2c/tokenizer.js';
import { scalarOps } from '../kernels/scalar.js';
import type { Ops } from '../kernels/types.js';
import { llama2cHparams, type MetadataReader } from '../models/hparams.js';
import { hfTokenizerHints, openHfWeights } from '../models/hf/index.js';
import { loadWeights } from '../models/load.js';
import { hparamsFromGguf } from '../models/registry.js';
import type { Hparams, Model } from '../models/types.js';
import { tokenizerFromGguf } from '../tokenizer/from-gguf.js';
import { readHfTokenizerFiles, tokenizerFromHf } from '../tokenizer/from-hf.js';
import { SpmTokenizer } from '../tokenizer/spm.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { createOps, type EngineOptions } from './engine.js';
import { Session, type SessionOptions } from './session.js';

/** 'hf': a Hugging Face checkpoint folder (config.json, safetensors weights, tokenizer.json). */
export type ModelFormat = 'gguf' | 'llama2c' | 'hf';

export interface LoadOptions {
  /** llama2.c tokenizer.bin (GGUF files carry their own tokenizer). */
  readonly tokenizer?: string;
  readonly ops?: Ops;
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
  /**
   * Leave the tokenizer out (`tokenizer` is then undefined): for callers that
   * feed token ids, e.g. `streamllm bench`. A 32000-token vocabulary costs a
   * few MiB of heap that such a run would never use.
   */
  readonly skipTokenizer?: boolean;
}

export interface LoadedModel {
  readonly path: string;
  readonly format: ModelFormat;
  readonly hparams: Hparams;
  readonly model: Model;
  /** Undefined for a llama2.c checkpoint loaded without its tokenizer.bin. */
  readonly tokenizer: Tokenizer | undefined;
  readonly ops: Ops;
  /**
   * The dedicated sink token the model was pre-trained with (GGUF
   * `streamllm.sink_token_id`, paper §3.3); sessions use it unless told otherwise.
   */
  readonly sinkToken: number | undefined;
  /** A new stream through this model with its own cache. */
  createSession(opts?: SessionOptions): Session;
}

/** GGUF key naming a model's dedicated attention-sink token. */
export const SINK_TOKEN_KEY = 'streamllm.sink_token_id';

const GGUF_MAGIC_BYTES = 0x46554747;

/** A folder is an HF checkpoint; a file is sniffed: GGUF magic, llama2.c v1 magic, or (fallback) a llama2.c v0 header. */
export function detectFormat(path: string): ModelFormat {
  if (isDirectory(path)) return 'hf';
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StreamLlmError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_READ', `cannot open model file ${path}`, {
      context: { file: path },
      cause: e,
    });
  }
  const head = new Uint8Array(4);
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  const magic = new DataView(head.buffer).getUint32(0, true);
  if (magic === GGUF_MAGIC_BYTES) return 'gguf';
  if (magic === LLAMA2C_MAGIC) return 'llama2c';
  return 'llama2c'; // legacy llama2.c has no magic; its header is validated on open
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // reported by the open below
  }
}

export function ggufMetadataReader(f: GgufFile): MetadataReader {
  return {
    name: f.name,
    getString: (k, fb) => f.getString(k, fb),
    getNumber: (k, fb) => f.getNumber(k, fb),
    getBool: (k, fb) => f.getBool(k, fb),
    has: (k) => f.metadata.has(k),
  };
}

/**
 * Load a model for inference: a GGUF file, a llama2.c checkpoint, or a
 * Hugging Face checkpoint folder (config.json + safetensors + tokenizer.json).
 * @example
 * const m = loadModel('model.gguf');
 * const s = m.createSession();
 * s.prefill(m.tokenizer!.encode('Hello'));
 */
export function loadModel(path: string, opts: LoadOptions = {}): LoadedModel {
  const ops = opts.ops ?? scalarOps;
  const format = detectFormat(path);
  let model: Model;
  let tokenizer: Tokenizer | undefined;
  let sinkToken: number | undefined;
  if (format === 'gguf') {
    const f = GgufFile.open(path);
    try {
      const meta = ggufMetadataReader(f);
      // Dispatch on general.architecture; typed errors for unknown archs and unsupported variants.
      const hp = hparamsFromGguf(meta, f.tensors);
      model = loadWeights(hp, ggufTensorSource(f), ops, opts);
      if (opts.skipTokenizer !== true) {
        tokenizer = f.metadata.has('tokenizer.ggml.model') ? tokenizerFromGguf(f) : undefined;
        if (opts.tokenizer !== undefined) tokenizer = llama2cTokenizer(opts.tokenizer, hp.vocabSize);
      }
      if (f.metadata.has(SINK_TOKEN_KEY)) sinkToken = f.getNumber(SINK_TOKEN_KEY);
    } finally {
      f.close();
    }
  } else if (format === 'hf') {
    const w = openHfWeights(path);
    try {
      // The tokenizer first: a bad tokenizer.json should fail before gigabytes are read.
      const files = opts.skipTokenizer === true ? undefined : readHfTokenizerFiles(path);
      tokenizer = files === undefined ? undefined : tokenizerFromHf(files, hfTokenizerHints(w));
      model = loadWeights(w.hparams, w.source, ops, opts);
      if (opts.tokenizer !== undefined && opts.skipTokenizer !== true) tokenizer = llama2cTokenizer(opts.tokenizer, w.hparams.vocabSize);
    } finally {
      w.close();
    }
  } else {
    const ck = Llama2cCheckpoint.open(path);
    try {
      const hp = llama2cHparams(ck.config, path);
      model = loadWeights(hp, ck, ops, opts);
      tokenizer = opts.tokenizer !== undefined && opts.skipTokenizer !== true ? llama2cTokenizer(opts.tokenizer, hp.vocabSize) : undefined;
    } finally {
      ck.close();
    }
  }
  if (tokenizer !== undefined && tokenizer.vocabSize !== model.hparams.vocabSize) {
    throw new StreamLlmError('TOKENIZER_BAD_VOCAB', `tokenizer has ${tokenizer.vocabSize} tokens but the model has ${model.hparams.vocabSize}`, {
      context: { file: opts.tokenizer ?? path, expected: model.hparams.vocabSize, actual: tokenizer.vocabSize },
    });
  }
  const m = model;
  if (sinkToken !== undefined && !(Number.isInteger(sinkToken) && sinkToken >= 0 && sinkToken < m.hparams.vocabSize)) {
    throw new StreamLlmError('BAD_HPARAMS', `${SINK_TOKEN_KEY} = ${sinkToken} is outside the vocabulary`, {
      context: { file: path, field: SINK_TOKEN_KEY, actual: sinkToken },
    });
  }
  const declared = sinkToken;
  return {
    path,
    format,
    hparams: m.hparams,
    model: m,
    tokenizer,
    ops,
    sinkToken: declared,
    createSession: (o = {}) => {
      // A model trained with a sink token streams with it, unless the caller picks another policy.
      const c = o.cache;
      const useDeclared = declared !== undefined && o.sinkToken === undefined && (c === undefined || (c.policy === 'sink' && (c.sinks ?? 1) === 1));
      return new Session(m, ops, useDeclared ? { ...o, sinkToken: declared } : o);
    },
  };
}

export function llama2cTokenizer(path: string, vocabSize: number): Tokenizer {
  return new SpmTokenizer(readLlama2cTokenizer(path, { vocabSize, name: path }));
}

function ggufTensorSource(f: GgufFile) {
  return {
    name: f.name,
    tensors: f.tensors,
    read: (name: string, dest: Uint8Array) => {
      const t = f.tensor(name);
      if (t === undefined) throw new StreamLlmError('MISSING_TENSOR', `tensor '${name}' is missing`, { context: { file: f.name, tensor: name } });
      f.readTensor(t, dest);
    },
    close: () => f.close(),
  };
}

export interface OpenOptions extends Omit<LoadOptions, 'ops'>, EngineOptions {}

/** A loaded model that owns its kernel backend (worker threads): close it when done. */
export interface OpenedModel extends LoadedModel {
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Load a model on the fast SIMD WebAssembly backend (or `engine: 'scalar'`),
 * with `threads` compute threads (default: all cores).
 * @example
 * await using m = await openModel('model.gguf', { threads: 2 });
 * const s = m.createSession({ cache: { policy: 'sink', sinks: 4, window: 1020 } });
 */
export async function openModel(path: string, opts: OpenOptions = {}): Promise<OpenedModel> {
  const ops = await createOps({ ...opts, modelPath: path });
  try {
    const m = loadModel(path, { ...opts, ops });
    const close = async () => {
      await ops.close();
    };
    return { ...m, close, [Symbol.asyncDispose]: close };
  } catch (e) {
    await ops.close();
    throw e;
  }
}
