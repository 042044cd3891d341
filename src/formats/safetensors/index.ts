/**
 * Safetensors (github.com/huggingface/safetensors): validated header, tensor
 * data read on demand, single files and sharded checkpoints, and a writer.
 */
export {
  DTYPE_BYTES,
  parseSafetensorsHeader,
  SAFETENSORS_MAX_HEADER,
  type SafetensorsDtype,
  type SafetensorsHeader,
  type SafetensorsProblem,
  type SafetensorsTensorInfo,
} from './header.js';
export { SafetensorsFile } from './reader.js';
export { SafetensorsCheckpoint, SAFETENSORS_FILE, SAFETENSORS_INDEX, type CheckpointTensorInfo } from './checkpoint.js';
export { encodeSafetensors, writeSafetensors, type SafetensorsWriteOptions, type SafetensorsWriterTensor } from './writer.js';
export { parseStrictJson, JsonError, type Json, type JsonObject } from './json.js';
