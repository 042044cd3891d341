/**
 * GGUF: read (header + on-demand tensor data) and write (streamed) files.
 * Spec: github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
export * from './types.js';
export { bufferSource, fileSource, type ByteSource } from './source.js';
export { GgufFile } from './reader.js';
export { encodeGguf, writeGguf, type GgufWriteOptions, type GgufWriterTensor } from './writer.js';
export { gv } from './encode.js';
export { entryTypeName, formatValue, tensorRows, type TensorRow } from './describe.js';
