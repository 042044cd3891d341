/** Cache-policy flags shared by generate and ppl. */
import { InvalidArgumentError, type Command } from 'commander';
import { CACHE_POLICIES, DEFAULT_SINKS, type CacheOptions } from '../cache/registry.js';
import { KV_TYPES, type CachePolicyName, type KvType } from '../cache/types.js';
import { StreamLlmError } from '../errors.js';
import { intArg } from './util.js';

export interface CacheFlags {
  cache: CachePolicyName;
  sinks?: number;
  window?: number;
  allowOverflow?: boolean;
  sinkToken?: number;
  kvType?: KvType;
}

/** `--kv-type f16|f32`, for every command that builds a cache. */
export function addKvTypeFlag(cmd: Command): Command {
  return cmd.option('--kv-type <type>', 'stored keys/values: f16 (half the memory and bytes read, as llama.cpp) or f32 (exact)', (v: string) => {
    if (!(KV_TYPES as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${KV_TYPES.join(', ')}`);
    return v;
  });
}

export function addCacheFlags(cmd: Command): Command {
  return addKvTypeFlag(cmd)
    .option(
      '--cache <policy>',
      'KV cache: sink (StreamingLLM), window, dense or recompute',
      (v: string) => {
        if (!(CACHE_POLICIES as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${CACHE_POLICIES.join(', ')}`);
        return v;
      },
      'sink',
    )
    .option('--sinks <n>', `attention-sink tokens kept from the start (sink policy; default ${DEFAULT_SINKS})`, intArg('--sinks', 0, 1 << 20))
    .option('--window <n>', 'recent tokens kept, the current one included (default: fill the training length)', intArg('--window', 1, 1 << 24))
    .option('--allow-overflow', 'let the cache exceed the training length (dense: keep going past it)')
    .option('--sink-token <id>', 'a dedicated sink token the model was trained with (paper §3.3): prepended once, the only sink', intArg('--sink-token', 0));
}

export function cacheOptionsFrom(f: CacheFlags): CacheOptions {
  const o = policyOptionsFrom(f);
  return f.kvType !== undefined ? { ...o, kvType: f.kvType } : o;
}

function policyOptionsFrom(f: CacheFlags): CacheOptions {
  const overflow = f.allowOverflow === true;
  if (f.sinks !== undefined && f.cache !== 'sink') {
    throw new StreamLlmError('BAD_ARGUMENT', `--sinks applies to the sink policy, not ${f.cache}`, { context: { field: 'sinks' } });
  }
  if (f.window !== undefined && f.cache === 'dense') {
    throw new StreamLlmError('BAD_ARGUMENT', '--window does not apply to the dense policy', { context: { field: 'window' } });
  }
  switch (f.cache) {
    case 'dense':
      return { policy: 'dense', allowOverflow: overflow };
    case 'sink':
      // Sinks left unset: 4 by default, or 1 when a dedicated sink token is in use (flag or GGUF key).
      return { policy: 'sink', ...(f.sinks !== undefined ? { sinks: f.sinks } : {}), ...(f.window !== undefined ? { window: f.window } : {}), allowOverflow: overflow };
    case 'window':
    case 'recompute':
      return { policy: f.cache, ...(f.window !== undefined ? { window: f.window } : {}), allowOverflow: overflow };
  }
}

/** "sink 4+124", "window 128", "dense": the policy as configured, for messages. */
export function describeCache(o: CacheOptions, ctx: number, sinkToken: number | undefined): string {
  switch (o.policy) {
    case 'dense':
      return `dense${o.allowOverflow === true ? ' (overflow allowed)' : ''}`;
    case 'sink': {
      const s = o.sinks ?? (sinkToken !== undefined ? 1 : DEFAULT_SINKS);
      return `sink ${s}+${o.window ?? ctx - s}${sinkToken !== undefined ? ` (sink token ${sinkToken})` : ''}`;
    }
    default:
      return `${o.policy} ${o.window ?? ctx}`;
  }
}
