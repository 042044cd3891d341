/**
 * Architectures by GGUF `general.architecture`: data, not string switches.
 * Everything that depends on the architecture goes through `archModule(hp)`
 * or `hparamsFromGguf`, so adding one is adding a row here.
 */
import { StreamLlmError } from '../errors.js';
import type { GgufEntry } from '../formats/gguf/types.js';
import { falcon } from './falcon.js';
import { gptneox } from './gptneox.js';
import { str } from './hparams.js';
import { llama } from './llama.js';
import { mpt } from './mpt.js';
import { qwen2 } from './qwen2.js';
import type { ArchModule, ArchName, Hparams, HparamsOf, MetadataReader, TensorDesc } from './types.js';

export const ARCHS = { llama, qwen2, gptneox, falcon, mpt } as const satisfies { readonly [A in ArchName]: ArchModule<HparamsOf<A>> };

export const KNOWN_ARCHS = Object.keys(ARCHS) as readonly ArchName[];

/** The module for these hparams. (TypeScript cannot correlate `ARCHS[hp.arch]` with `hp` itself.) */
export function archModule<H extends Hparams>(hp: H): ArchModule<H> {
  return ARCHS[hp.arch] as unknown as ArchModule<H>;
}

/** `general.architecture`, refused with the supported list unless it is one of ours. */
export function archOf(meta: MetadataReader): ArchName {
  const arch = meta.getString('general.architecture');
  if (!Object.hasOwn(ARCHS, arch)) {
    throw new StreamLlmError('UNSUPPORTED_ARCHITECTURE', `architecture '${arch}' is not supported yet`, {
      context: { file: meta.name, field: 'general.architecture', actual: arch },
      hint: `supported: ${KNOWN_ARCHS.join(', ')}`,
    });
  }
  return arch as ArchName;
}

/**
 * Normalized, validated Hparams for a GGUF file: metadata keys plus the
 * tensor table (some variants are told apart by their tensors, e.g. Falcon-40B's
 * attn_norm_2 or MPT's biases).
 * @example
 * const f = GgufFile.open('pythia-160m.gguf');
 * const hp = hparamsFromGguf(ggufMetadataReader(f), f.tensors); // hp.arch === 'gptneox'
 */
export function hparamsFromGguf(meta: MetadataReader, tensors: readonly TensorDesc[]): Hparams {
  return ARCHS[archOf(meta)].fromGguf(meta, tensors);
}

/** llama.cpp metadata keys for `hp` (general.architecture first, then general.name if given). */
export function ggufMetadataFor(hp: Hparams, name?: string): [string, GgufEntry][] {
  const kv = archModule(hp).ggufMetadata(hp);
  if (name !== undefined && !kv.some(([k]) => k === 'general.name')) kv.splice(1, 0, ['general.name', str(name)]);
  return kv;
}
