/** Architectures by GGUF `general.architecture`: data, not string switches. */
import { llama } from './llama.js';
import type { ArchModule, ArchName } from './types.js';

export const ARCHS = { llama } as const satisfies Record<ArchName, ArchModule>;
