/** Kernel-backend flags (--threads), shared by every command that runs a model. */
import type { Command } from 'commander';
import { scalarOps } from '../kernels/scalar.js';
import type { Ops } from '../kernels/types.js';
import { intArg } from './util.js';

export interface EngineFlags {
  threads?: number;
}

export function addEngineFlags(cmd: Command): Command {
  return cmd.option('-t, --threads <n>', 'compute threads (default: all cores)', intArg('--threads', 1, 256));
}

/** The kernel backend for these flags. Closing it (if it has workers) is the caller's job. */
export async function engineOpsFrom(_f: EngineFlags): Promise<Ops & { close?: () => void }> {
  return scalarOps;
}
