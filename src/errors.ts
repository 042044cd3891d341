/**
 * One error type for the whole library. Callers switch on `code`, never on the
 * message; the structured `context` says where (file, offset, tensor, field).
 * Only `cli/` turns these into exit codes and only `server/` into HTTP statuses.
 */
export type ErrorCode =
  // files in general
  | 'FILE_NOT_FOUND'
  | 'FILE_READ'
  | 'FILE_WRITE'
  | 'UNKNOWN_FORMAT'
  // GGUF
  | 'GGUF_BAD_MAGIC'
  | 'GGUF_UNSUPPORTED_VERSION'
  | 'GGUF_TRUNCATED'
  | 'GGUF_BAD_VALUE'
  | 'GGUF_DUPLICATE_KEY'
  | 'GGUF_DUPLICATE_TENSOR'
  | 'GGUF_ABSURD_COUNT'
  | 'GGUF_BAD_OFFSET'
  | 'GGUF_BAD_ALIGNMENT'
  | 'GGUF_BAD_SHAPE'
  | 'UNSUPPORTED_TENSOR_TYPE'
  /** A weight matrix re-laid out by one kernel backend was handed to another. */
  | 'WEIGHT_LAYOUT'
  // safetensors
  | 'SAFETENSORS_BAD_HEADER'
  | 'SAFETENSORS_TRUNCATED'
  | 'SAFETENSORS_BAD_OFFSET'
  | 'SAFETENSORS_DUPLICATE_TENSOR'
  // llama2.c
  | 'LLAMA2C_BAD_HEADER'
  | 'LLAMA2C_TRUNCATED'
  | 'LLAMA2C_BAD_TOKENIZER'
  // model loading
  | 'UNSUPPORTED_ARCHITECTURE'
  | 'MISSING_METADATA'
  | 'BAD_HPARAMS'
  | 'MISSING_TENSOR'
  | 'UNEXPECTED_TENSOR'
  | 'TENSOR_SHAPE_MISMATCH'
  | 'NO_TENSORS'
  // tokenizer
  | 'TOKENIZER_MISSING'
  | 'TOKENIZER_UNSUPPORTED'
  | 'TOKENIZER_BAD_VOCAB'
  | 'TOKEN_OUT_OF_RANGE'
  // runtime / cache / sampling
  | 'BAD_ARGUMENT'
  | 'CONTEXT_OVERFLOW'
  | 'SESSION_CLOSED'
  // kernels
  | 'WASM_MEMORY_LIMIT'
  | 'WASM_FEATURE_MISSING'
  | 'WORKER_FAILED';

export interface ErrorContext {
  file?: string;
  offset?: number;
  field?: string;
  tensor?: string;
  expected?: unknown;
  actual?: unknown;
  [key: string]: unknown;
}

export class StreamLlmError extends Error {
  override readonly name = 'StreamLlmError';
  readonly code: ErrorCode;
  readonly context: ErrorContext;
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { context?: ErrorContext; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.context = opts.context ?? {};
    this.hint = opts.hint;
  }

  /** Message plus location and hint, for humans (the CLI prints this). */
  describe(): string {
    const where: string[] = [];
    const c = this.context;
    if (c.file !== undefined) where.push(`file ${c.file}`);
    if (c.offset !== undefined) where.push(`offset ${c.offset}`);
    if (c.tensor !== undefined) where.push(`tensor '${c.tensor}'`);
    if (c.field !== undefined) where.push(`field '${c.field}'`);
    let s = `${this.code}: ${this.message}`;
    if (where.length > 0) s += ` (${where.join(', ')})`;
    if (this.hint !== undefined) s += `\n  hint: ${this.hint}`;
    return s;
  }
}

/** Throws BAD_ARGUMENT unless `ok`. For validating user-facing parameters. */
export function requireArg(ok: boolean, message: string, context: ErrorContext = {}): asserts ok {
  if (!ok) throw new StreamLlmError('BAD_ARGUMENT', message, { context });
}
