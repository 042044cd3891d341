/**
 * llama.cpp (node-llama-cpp 3.21.1, CPU, F32 KV cache, flash attention off,
 * 1 thread) as the oracle for one architecture. We write a small random-weight
 * model with a real vocabulary, both engines run it over a 300-token stream:
 *   (a) dense next-token probabilities agree within 1e-4 at every position;
 *   (b) StreamingLLM (4 sinks + 60) agrees within 1e-4 on every token —
 *       llama.cpp evicts the oldest non-sink token per step with
 *       eraseContextTokenRanges (its K-shift re-rotates the kept keys; with
 *       ALiBi it only renumbers positions), ours runs the sink cache;
 *   (c) greedy continuations are equal.
 * llama.cpp exposes probabilities, not logits. A full distribution costs it a
 * sort and a 50k-entry Map (~15 ms), so every FULL_EVERY-th position compares
 * the whole vocabulary and every other position the top TOP_K tokens,
 * renormalized over llama.cpp's top-K set on both sides (ratios inside the set
 * are the logit differences, so no error that matters escapes). A scale-free
 * guard bounds |Δlog p| on the likely tokens.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import type { CacheOptions } from '../../src/cache/registry.js';
import { writeRandomModel, type RandomModelOptions } from '../../src/convert/random.js';
import { GgufFile, type GgufEntry } from '../../src/formats/gguf/index.js';
import { scalarOps } from '../../src/kernels/scalar.js';
import type { Ops } from '../../src/kernels/types.js';
import { loadWeights } from '../../src/models/load.js';
import { hparamsFromGguf } from '../../src/models/registry.js';
import type { BuildOptions, Model } from '../../src/models/types.js';
import { ggufMetadataReader } from '../../src/runtime/load.js';
import { Session } from '../../src/runtime/session.js';
import { SeededRng } from '../../src/sampling/rng.js';
import { softmax64 } from './compare.js';
import { needFixture } from './fixtures.js';
import { tempDir } from './tmp.js';

export const TOL = 1e-4;
export const STREAM = 300;
export const SINKS = 4;
export const WINDOW = 60;
export const FULL_EVERY = 10;
export const TOP_K = 64;
/**
 * |Δlog p| bound for tokens with p ≥ 1e-3. llama.cpp computes RoPE angles in
 * float32 (ggml_rope_cache_init multiplies θ step by step), ~1e-5 rad off our
 * float64 ones here, which shows as |Δlog p| ≈ 1e-4.
 */
export const LOG_TOL = 1e-3;
/**
 * GELU models: ggml rounds every GELU input to fp16 (models/layers/gelu.ts),
 * a step function that turns last-bit float32 differences (summation order)
 * into 2^-11 jumps of single activations. Measured |Δlog p| ≈ 2e-3 against
 * llama.cpp — the same as perturbing our own matmuls by 1e-7 relative.
 */
export const LOG_TOL_GELU = 1e-2;

type NodeLlamaCpp = typeof import('node-llama-cpp');
export type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;
type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type Probs = Map<number, number>;

export async function startLlama(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  return getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: LlamaLogLevel.error });
}

/** Per test file: a temp dir and ONE lazily started llama.cpp (getLlama costs ~0.5 s), both cleaned up after. */
export interface OracleFile {
  readonly dir: string;
  llama(): Promise<Llama>;
}

export function oracleFile(): OracleFile {
  const dir = tempDir('streamllm-arch-');
  let started: Promise<Llama> | undefined;
  after(async () => {
    if (started !== undefined) await (await started).dispose();
  });
  return { dir, llama: () => (started ??= startLlama()) };
}

/** The `tokenizer.*` entries of a vocabulary fixture, so llama.cpp accepts the file. */
export function vocabMetadata(path: string): [string, GgufEntry][] {
  const f = GgufFile.open(path);
  try {
    return [...f.metadata].filter(([k]) => k.startsWith('tokenizer.'));
  } finally {
    f.close();
  }
}

/** Our side, opened without a tokenizer (this suite is about the forward pass). */
export function openOurs(path: string, opts: BuildOptions = {}, ops: Ops = scalarOps): Model {
  const f = GgufFile.open(path);
  try {
    const hp = hparamsFromGguf(ggufMetadataReader(f), f.tensors);
    const src = { name: f.name, tensors: f.tensors, read: (n: string, d: Uint8Array) => f.readTensor(f.tensor(n)!, d), close: () => f.close() };
    return loadWeights(hp, src, ops, opts);
  } finally {
    f.close();
  }
}

export function randomStream(vocab: number, n: number, seed: number): number[] {
  const rng = new SeededRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng.nextFloat() * vocab));
}

interface Worst {
  pos: number;
  token: number;
  ours: number;
  ref: number;
  diff: number;
}

/** Max |p_ours - p_ref| and max |Δlog p| where p_ref ≥ 1e-3, over full or top-K distributions. */
export class ProbCompare {
  worst: Worst = { pos: -1, token: -1, ours: 0, ref: 0, diff: 0 };
  maxLogDiff = 0;
  full = 0;
  topK = 0;

  /** `ref` holds the whole vocabulary (Float64Array or full Map) or llama.cpp's renormalized top K. */
  add(pos: number, logits: Float32Array, ref: Probs | Float64Array | undefined): void {
    assert.ok(ref !== undefined, `llama.cpp returned no probabilities at position ${pos}`);
    if (ref instanceof Float64Array || ref.size === logits.length) {
      const p = softmax64(logits);
      if (ref instanceof Float64Array) for (let i = 0; i < p.length; i++) this.one(pos, i, p[i]!, ref[i]!);
      else for (const [id, pr] of ref) this.one(pos, id, p[id]!, pr);
      this.full++;
    } else {
      // softmax over the top-K set only: the renormalized distribution llama.cpp reports.
      let max = -Infinity;
      for (const id of ref.keys()) max = Math.max(max, logits[id]!);
      let z = 0;
      for (const id of ref.keys()) z += Math.exp(logits[id]! - max);
      for (const [id, pr] of ref) this.one(pos, id, Math.exp(logits[id]! - max) / z, pr);
      this.topK++;
    }
  }

  private one(pos: number, token: number, ours: number, ref: number): void {
    const d = Math.abs(ours - ref);
    if (!(d <= this.worst.diff)) this.worst = { pos, token, ours, ref, diff: Number.isNaN(d) ? Infinity : d };
    if (ref >= 1e-3) this.maxLogDiff = Math.max(this.maxLogDiff, Math.abs(Math.log(ours) - Math.log(ref)));
  }

  report(label: string): string {
    const w = this.worst;
    return (
      `${label}: ${this.full} full-vocabulary + ${this.topK} top-${TOP_K} positions; max |Δp| ${w.diff.toExponential(2)} ` +
      `(position ${w.pos}, token ${w.token}: ours ${w.ours.toExponential(4)} vs llama.cpp ${w.ref.toExponential(4)}); ` +
      `max |Δlog p| (p ≥ 1e-3) ${this.maxLogDiff.toExponential(2)}`
    );
  }

  check(label: string, logTol: number): void {
    const w = this.worst;
    assert.ok(w.diff <= TOL, `${label}: position ${w.pos}, token ${w.token}: ours ${w.ours}, llama.cpp ${w.ref}, |diff| ${w.diff} > ${TOL}`);
    assert.ok(this.maxLogDiff <= logTol, `${label}: max |Δlog p| ${this.maxLogDiff} > ${logTol}`);
  }
}

const FULL = { probabilities: true } as const;
const TOPK = { probabilities: true, options: { temperature: 1, topK: TOP_K, topP: 1, minP: 0 } } as const;
const nextFor = (pos: number) => ({ generateNext: pos % FULL_EVERY === 0 ? FULL : TOPK });
const probsOf = (r: unknown): Probs | undefined => (r as { next?: { probabilities?: Probs } } | undefined)?.next?.probabilities;

async function context(model: LlamaModel, cells: number) {
  return model.createContext({
    contextSize: cells + 1, // llama.cpp never fills the last cell
    threads: 1,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
    flashAttention: false,
  });
}

/** Per-position probabilities for `ids` from one dense context, 50 tokens per batch. */
async function denseReference(model: LlamaModel, ids: readonly number[], each: (pos: number, p: Probs | undefined) => void): Promise<void> {
  const ctx = await context(model, ids.length);
  try {
    const seq = ctx.getSequence();
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50).map((id, j) => [id, nextFor(i + j)] as const);
      const res = await seq.controlledEvaluate(chunk as never);
      res.forEach((r, j) => each(i + j, probsOf(r)));
    }
  } finally {
    await ctx.dispose();
  }
}

/** StreamingLLM in llama.cpp: one token per step; when S + W cells are full, erase the oldest non-sink. */
async function streamingReference(model: LlamaModel, ids: readonly number[], each: (pos: number, p: Probs | undefined) => void): Promise<void> {
  const cells = SINKS + WINDOW;
  const ctx = await context(model, cells);
  try {
    const seq = ctx.getSequence();
    for (let pos = 0; pos < ids.length; pos++) {
      if (seq.nextTokenIndex === cells) await seq.eraseContextTokenRanges([{ start: SINKS, end: SINKS + 1 }]);
      const [r] = await seq.controlledEvaluate([[ids[pos]!, nextFor(pos)]] as never);
      each(pos, probsOf(r));
    }
    assert.equal(seq.nextTokenIndex, cells);
  } finally {
    await ctx.dispose();
  }
}

async function greedyReference(model: LlamaModel, prompt: readonly number[], n: number): Promise<number[]> {
  const ctx = await context(model, prompt.length + n + 1);
  try {
    const seq = ctx.getSequence();
    const out: number[] = [];
    for await (const id of seq.evaluate(prompt as never, { temperature: 0 })) {
      out.push(id);
      if (out.length >= n) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

/** Our logits at every position of `ids` under a cache policy (batched prefill: the banded sink path too). */
function ours(m: Model, cache: CacheOptions, ids: readonly number[]): Float32Array[] {
  const rows: Float32Array[] = [];
  new Session(m, scalarOps, { cache, batchSize: 32 }).evaluate(ids, (_, row) => rows.push(Float32Array.from(row)));
  return rows;
}

export interface OracleCase {
  readonly name: string;
  /** Vocabulary fixture under ../shared/fixtures, e.g. 'vocab/ggml-vocab-gpt-neox.gguf'. */
  readonly vocab: string;
  readonly model: Omit<RandomModelOptions, 'metadata'>;
  readonly streamSeed?: number;
  /** Stream length (default STREAM = 300). */
  readonly tokens?: number;
  /** Bound on |Δlog p| for tokens with p ≥ 1e-3 (default LOG_TOL; GELU models LOG_TOL_GELU). */
  readonly logTol?: number;
  /** Which checks to run (default all three). */
  readonly checks?: readonly ('dense' | 'streaming' | 'greedy')[];
}

/** The three checks for one architecture, as subtests of `t`. */
export async function checkAgainstLlamaCpp(t: TestContext, file: OracleFile, c: OracleCase): Promise<void> {
  const vocabPath = needFixture(t, c.vocab);
  if (vocabPath === undefined) return;
  const path = join(file.dir, `${c.name}.gguf`);
  writeRandomModel(path, { ...c.model, metadata: vocabMetadata(vocabPath) });
  const m = openOurs(path);
  const ids = randomStream(m.hparams.vocabSize, c.tokens ?? STREAM, c.streamSeed ?? 7);
  const logTol = c.logTol ?? LOG_TOL;
  const want = new Set(c.checks ?? ['dense', 'streaming', 'greedy']);
  const lm = await (await file.llama()).loadModel({ modelPath: path });
  const dense = want.has('dense') || want.has('streaming') ? ours(m, { policy: 'dense' }, ids) : [];
  try {
    if (want.has('dense')) {
      await t.test(`${c.name}: dense next-token probabilities within ${TOL} at all ${ids.length} positions`, async (tt) => {
        const cmp = new ProbCompare();
        await denseReference(lm, ids, (pos, p) => cmp.add(pos, dense[pos]!, p));
        tt.diagnostic(cmp.report('dense'));
        cmp.check('dense', logTol);
      });
    }
    if (want.has('streaming')) {
      await t.test(`${c.name}: StreamingLLM (${SINKS} sinks + ${WINDOW}) within ${TOL} on every token`, async (tt) => {
        const mine = ours(m, { policy: 'sink', sinks: SINKS, window: WINDOW }, ids);
        const cmp = new ProbCompare();
        await streamingReference(lm, ids, (pos, p) => cmp.add(pos, mine[pos]!, p));
        tt.diagnostic(cmp.report('streaming'));
        cmp.check('streaming', logTol);
        // Not vacuous: once tokens are evicted, streaming differs from dense far more than the engines differ.
        const late = new ProbCompare();
        for (let pos = SINKS + WINDOW; pos < ids.length; pos += FULL_EVERY) late.add(pos, mine[pos]!, softmax64(dense[pos]!));
        tt.diagnostic(`our streaming vs our dense after eviction: max |Δp| ${late.worst.diff.toExponential(2)}, max |Δlog p| ${late.maxLogDiff.toExponential(2)}`);
        assert.ok(late.worst.diff > Math.max(TOL, 10 * cmp.worst.diff), `eviction should matter: streaming vs dense max |Δp| only ${late.worst.diff}`);
      });
    }
    if (want.has('greedy')) {
      await t.test(`${c.name}: greedy continuation equal`, async () => {
        const prompt = ids.slice(0, 8);
        const N = 32;
        const theirs = await greedyReference(lm, prompt, N);
        const s = new Session(m, scalarOps, { cache: { policy: 'dense' }, sampling: { temperature: 0 } });
        s.prefill(prompt);
        const mine: number[] = [];
        for (let i = 0; i < N; i++) mine.push(s.step());
        assert.deepEqual(mine, theirs);
      });
    }
  } finally {
    await lm.dispose();
  }
}
