/**
 * Hugging Face checkpoints (a folder with config.json and safetensors
 * weights) as normalized Hparams plus a GGUF-named TensorSource, so
 * `loadWeights` and the GGUF converter treat them like any other file.
 * The tokenizer (tokenizer.json) is read separately: tokenizer/from-hf.ts.
 */
import { join } from 'node:path';
import { readJsonFile } from '../../formats/json-file.js';
import { SafetensorsCheckpoint } from '../../formats/safetensors/checkpoint.js';
import type { Hparams } from '../types.js';
import { HfConfig } from './config.js';
import { hfModelType, hparamsFromHfConfig, type HfModelType } from './hparams.js';
import { HfTensorSource } from './source.js';
import { hfTensorMap } from './tensors.js';

export { HfConfig } from './config.js';
export { HF_MODEL_TYPES, hfModelType, hparamsFromHfConfig, type HfHparamsContext, type HfModelType } from './hparams.js';
export { HfTensorSource, permuteRows } from './source.js';
export { falconQkvRows, hfTensorMap, neoxQkvRows, ropeHalvesToAdjacentRows, type HfTensorMap } from './tensors.js';

export const HF_CONFIG_FILE = 'config.json';
const MAX_CONFIG_BYTES = 16 * 2 ** 20;

export interface HfWeightsOptions {
  /**
   * Llama/Mistral q/k rows: 'permute' (default) reorders them into GGUF's
   * adjacent-pair layout, exactly as llama.cpp's converter does; 'halves'
   * keeps HF's rows and rotates in the halves layout. Same model either way.
   */
  readonly llamaRope?: 'permute' | 'halves';
}

export interface HfWeights {
  readonly hparams: Hparams;
  readonly modelType: HfModelType;
  readonly config: HfConfig;
  readonly source: HfTensorSource;
  /** Closes the safetensors files. */
  close(): void;
}

/**
 * What the tokenizer loader needs from the model side: the vocab_size to pad
 * to, the model_type (names the GGUF pre-tokenizer) and config.json's
 * bos/eos ids as a fallback for tokenizer_config.json (ignored unless valid).
 */
export function hfTokenizerHints(w: HfWeights): { vocabSize: number; modelType: string; bosId?: number; eosId?: number } {
  const id = (key: string): number | undefined => {
    const v = w.config.value(key);
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < w.hparams.vocabSize ? v : undefined;
  };
  const bosId = id('bos_token_id');
  const eosId = id('eos_token_id');
  return { vocabSize: w.hparams.vocabSize, modelType: w.modelType, ...(bosId !== undefined ? { bosId } : {}), ...(eosId !== undefined ? { eosId } : {}) };
}

/** Tied output unless config.json says otherwise; transformers' per-family defaults. */
const TIED_BY_DEFAULT: Readonly<Record<Hparams['arch'], boolean>> = { llama: false, qwen2: false, gptneox: false, falcon: true, mpt: true };

/**
 * Opens `dir`: config.json → Hparams, then the safetensors weights (single
 * file or sharded index), validated against the architecture's tensor table.
 * @example
 * const w = openHfWeights('TinyLlama-1.1B');
 * const model = loadWeights(w.hparams, w.source, ops);
 * w.close();
 */
export function openHfWeights(dir: string, opts: HfWeightsOptions = {}): HfWeights {
  const configPath = join(dir, HF_CONFIG_FILE);
  const config = HfConfig.from(readJsonFile(configPath, { maxBytes: MAX_CONFIG_BYTES, code: 'BAD_HPARAMS' }), configPath);
  const modelType = hfModelType(config); // before opening gigabytes of weights
  const llamaRope = opts.llamaRope ?? 'permute';
  const ck = SafetensorsCheckpoint.open(dir);
  try {
    const hparams = hparamsFromHfConfig(config, { hasTensor: (n) => ck.tensor(n) !== undefined, llamaRope });
    const tied = config.bool('tie_word_embeddings', TIED_BY_DEFAULT[hparams.arch]);
    const source = new HfTensorSource(ck, hparams, hfTensorMap(hparams, llamaRope), { tied });
    return { hparams, modelType, config, source, close: () => ck.close() };
  } catch (e) {
    ck.close();
    throw e;
  }
}
