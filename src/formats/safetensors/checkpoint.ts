/**
 * A checkpoint's weights as one tensor table, whether they sit in a single
 * `model.safetensors` or in shards listed by `model.safetensors.index.json`
 * ({ "metadata": {...}, "weight_map": { tensor name: shard file name } }).
 *
 * The weight map is authoritative, as in transformers: a listed tensor must
 * be in its shard (MISSING_TENSOR otherwise), a tensor a shard holds but the
 * map does not list is ignored, and shard names must be plain file names in
 * the same folder (no paths: an index must not make us open other files).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StreamLlmError } from '../../errors.js';
import { readTextFile } from '../json-file.js';
import { safetensorsError, type SafetensorsTensorInfo } from './header.js';
import { isJsonObject, JsonError, parseStrictJson, type Json } from './json.js';
import { SafetensorsFile } from './reader.js';

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';
/** An index lists one line per tensor; even a 1T-parameter model's is a few MB. */
const MAX_INDEX_BYTES = 64 * 2 ** 20;

export interface CheckpointTensorInfo extends SafetensorsTensorInfo {
  /** The shard holding it. */
  readonly file: string;
}

/**
 * @example
 * using ck = SafetensorsCheckpoint.open('path/to/Llama-2-7b-hf');   // a folder, a .safetensors or an index .json
 * for (const t of ck.tensors) console.log(t.name, t.dtype, t.shape);
 */
export class SafetensorsCheckpoint implements Disposable {
  /** The path opened (for messages). */
  readonly name: string;
  readonly tensors: readonly CheckpointTensorInfo[];
  /** Shard paths, in the order first referenced. */
  readonly files: readonly string[];

  private readonly shards: readonly SafetensorsFile[];
  private readonly byName: ReadonlyMap<string, { info: CheckpointTensorInfo; shard: SafetensorsFile }>;

  private constructor(name: string, shards: SafetensorsFile[], entries: { info: CheckpointTensorInfo; shard: SafetensorsFile }[]) {
    this.name = name;
    this.shards = shards;
    this.files = shards.map((s) => s.name);
    this.tensors = entries.map((e) => e.info);
    this.byName = new Map(entries.map((e) => [e.info.name, e]));
  }

  /**
   * `path` is a folder (index preferred over model.safetensors when both
   * exist, as transformers does), a `.safetensors` file, or an index file.
   */
  static open(path: string): SafetensorsCheckpoint {
    let target = path;
    if (isDirectory(path)) {
      const index = join(path, SAFETENSORS_INDEX);
      const single = join(path, SAFETENSORS_FILE);
      if (existsSync(index)) target = index;
      else if (existsSync(single)) target = single;
      else {
        throw new StreamLlmError('FILE_NOT_FOUND', `${path} has neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX}`, {
          context: { file: path },
          hint: 'only safetensors weights are read (not pytorch_model.bin); convert them with the safetensors tools first',
        });
      }
    }
    return target.endsWith('.json') ? SafetensorsCheckpoint.openIndex(target) : SafetensorsCheckpoint.openSingle(target);
  }

  private static openSingle(path: string): SafetensorsCheckpoint {
    const f = SafetensorsFile.open(path);
    return new SafetensorsCheckpoint(path, [f], f.tensors.map((t) => ({ info: { ...t, file: path }, shard: f })));
  }

  private static openIndex(path: string): SafetensorsCheckpoint {
    const weightMap = readWeightMap(path);
    const dir = dirname(path);
    const shards = new Map<string, SafetensorsFile>();
    try {
      const entries: { info: CheckpointTensorInfo; shard: SafetensorsFile }[] = [];
      for (const [tensor, file] of weightMap) {
        let shard = shards.get(file);
        if (shard === undefined) {
          shard = SafetensorsFile.open(join(dir, file));
          shards.set(file, shard);
        }
        const info = shard.tensor(tensor);
        if (info === undefined) {
          throw new StreamLlmError('MISSING_TENSOR', `tensor '${tensor}' is mapped to ${file} but that shard does not hold it`, {
            context: { file: shard.name, tensor, index: path },
          });
        }
        entries.push({ info: { ...info, file: shard.name }, shard });
      }
      return new SafetensorsCheckpoint(path, [...shards.values()], entries);
    } catch (e) {
      for (const s of shards.values()) s.close();
      throw e;
    }
  }

  tensor(name: string): CheckpointTensorInfo | undefined {
    return this.byName.get(name)?.info;
  }

  /** Reads the tensor's bytes into `dest` (exactly `nBytes` long). */
  readTensor(name: string, dest: Uint8Array): Uint8Array {
    const e = this.byName.get(name);
    if (e === undefined) throw new StreamLlmError('MISSING_TENSOR', `tensor '${name}' is not in ${this.name}`, { context: { file: this.name, tensor: name } });
    return e.shard.readTensor(e.info.name, dest);
  }

  close(): void {
    for (const s of this.shards) s.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a missing path is reported by whoever opens it
  }
}

/** A plain file name: no separators, not '.' or '..' (a path could point anywhere). */
const SHARD_NAME = /^(?!\.\.?$)[^/\\\0]+$/;

function readWeightMap(path: string): Map<string, string> {
  const text = readTextFile(path, { maxBytes: MAX_INDEX_BYTES, code: 'UNKNOWN_FORMAT' });
  let root: Json;
  try {
    root = parseStrictJson(text, 8);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    if (e.duplicate?.depth === 1) {
      throw safetensorsError('duplicate-tensor', `tensor '${e.duplicate.key}' appears twice in the index`, { file: path, tensor: e.duplicate.key });
    }
    throw safetensorsError('bad-header', `${basename(path)} is not valid JSON: ${e.message}`, { file: path });
  }
  const map = isJsonObject(root) ? root.get('weight_map') : undefined;
  if (!isJsonObject(map)) throw safetensorsError('bad-header', `${basename(path)} has no "weight_map" object`, { file: path, field: 'weight_map' });
  const out = new Map<string, string>();
  for (const [tensor, file] of map) {
    if (typeof file !== 'string' || !SHARD_NAME.test(file)) {
      throw safetensorsError('bad-header', `weight_map entry for '${tensor}' is not a file name in the same folder`, {
        file: path, tensor, field: 'weight_map', actual: typeof file === 'string' ? file : typeof file,
      });
    }
    out.set(tensor, file);
  }
  if (out.size === 0) throw new StreamLlmError('NO_TENSORS', `${basename(path)} lists no tensors`, { context: { file: path } });
  return out;
}
