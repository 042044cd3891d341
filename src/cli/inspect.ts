/** `streamllm inspect`: what a model file holds, without loading its weights. */
import type { Command } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HF_CONFIG_FILE, openHfWeights } from '../models/hf/index.js';
import { GgufFile } from '../formats/gguf/reader.js';
import { entryTypeName, formatValue } from '../formats/gguf/describe.js';
import { Llama2cCheckpoint } from '../formats/llama2c/checkpoint.js';
import type { TensorDesc } from '../formats/tensor-source.js';
import { llama2cHparams } from '../models/hparams.js';
import { hparamsFromGguf } from '../models/registry.js';
import type { Hparams } from '../models/types.js';
import { detectFormat, ggufMetadataReader } from '../runtime/load.js';
import { typeName } from '../tensor/dtype.js';
import { formatBytes } from './util.js';

export interface Inspection {
  file: string;
  format: 'gguf' | 'llama2c' | 'hf';
  fileBytes: number;
  hparams?: Hparams;
  /** Why hparams are absent (e.g. a vocabulary-only GGUF). */
  note?: string;
  metadata: { key: string; type: string; value: string }[];
  tensors: { name: string; type: string; shape: number[]; bytes: number }[];
  parameters: number;
  weightBytes: number;
  /** f32 K+V for the full training context with a dense cache. */
  kvCacheBytes?: number;
}

export function inspectFile(path: string): Inspection {
  const format = detectFormat(path); // typed FILE_NOT_FOUND / FILE_READ before anything else
  const fileBytes = format === 'hf' ? 0 : statSync(path).size;
  const rows = (ts: readonly TensorDesc[]) =>
    ts.map((t) => ({ name: t.name, type: typeName(t.type), shape: [...t.dims], bytes: t.nBytes }));
  let r: Inspection;
  if (format === 'gguf') {
    const f = GgufFile.open(path);
    try {
      const metadata = [...f.metadata].map(([key, e]) => ({ key, type: entryTypeName(e), value: formatValue(e.value) }));
      r = { file: path, format: 'gguf', fileBytes, metadata, tensors: rows(f.tensors), parameters: 0, weightBytes: 0 };
      if (f.tensors.length === 0) {
        r.note = 'no tensors: a vocabulary-only file (tokenizer only)';
      } else {
        try {
          r.hparams = hparamsFromGguf(ggufMetadataReader(f), f.tensors);
        } catch (e) {
          r.note = `cannot run this model: ${(e as Error).message}`;
        }
      }
    } finally {
      f.close();
    }
  } else if (format === 'hf') {
    const w = openHfWeights(path);
    try {
      // openHfWeights validated config.json already; show its scalar and small entries as metadata.
      const raw = JSON.parse(readFileSync(join(path, HF_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
      const metadata = Object.entries(raw).map(([key, v]) => {
        const text = JSON.stringify(v) ?? String(v);
        return { key, type: Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v, value: text.length > 80 ? `${text.slice(0, 80)}…` : text };
      });
      const tensors = rows(w.source.tensors);
      r = { file: path, format: 'hf', fileBytes: tensors.reduce((a, t) => a + t.bytes, 0), hparams: w.hparams, metadata, tensors, parameters: 0, weightBytes: 0 };
    } finally {
      w.close();
    }
  } else {
    const ck = Llama2cCheckpoint.open(path);
    try {
      const c = ck.config;
      r = {
        file: path,
        format: 'llama2c',
        fileBytes,
        hparams: llama2cHparams(c, path),
        metadata: Object.entries(c).map(([key, v]) => ({ key, type: typeof v, value: String(v) })),
        tensors: rows(ck.tensors),
        parameters: 0,
        weightBytes: 0,
      };
    } finally {
      ck.close();
    }
  }
  for (const t of r.tensors) {
    r.parameters += t.shape.reduce((a, b) => a * b, 1);
    r.weightBytes += t.bytes;
  }
  if (r.hparams !== undefined) {
    const hp = r.hparams;
    r.kvCacheBytes = 2 * hp.layers * hp.kvHeads * hp.headDim * hp.contextLength * 4;
  }
  return r;
}

function printInspection(r: Inspection): void {
  const out: string[] = [];
  out.push(`file:         ${r.file} (${formatBytes(r.fileBytes)}, ${r.format})`);
  if (r.hparams !== undefined) {
    const h = r.hparams;
    out.push(`architecture: ${h.arch}`);
    out.push(
      `hparams:      vocab ${h.vocabSize}, dim ${h.dim}, layers ${h.layers}, heads ${h.nHeads} (kv ${h.kvHeads}, head dim ${h.headDim}), ` +
        `ffn ${h.ffnDim}, context ${h.contextLength}, norm eps ${h.normEps}, ` +
        ('rope' in h ? `rope θ ${h.rope.base} (${h.rope.style}, ${h.rope.dims} dims, scale ${h.rope.freqScale})` : `ALiBi max bias ${h.alibiMaxBias}`),
    );
  }
  if (r.note !== undefined) out.push(`note:         ${r.note}`);
  out.push(`parameters:   ${r.parameters.toLocaleString('en-US')} (${formatBytes(r.weightBytes)} of weights)`);
  if (r.kvCacheBytes !== undefined) {
    out.push(
      `memory:       ~${formatBytes(r.weightBytes + r.kvCacheBytes)} = weights + ${formatBytes(r.kvCacheBytes)} f32 KV cache for the full ${r.hparams!.contextLength}-token context`,
    );
  }
  out.push('', 'metadata:');
  const kw = Math.max(...r.metadata.map((m) => m.key.length), 3);
  for (const m of r.metadata) out.push(`  ${m.key.padEnd(kw)}  ${m.type.padEnd(12)} ${m.value}`);
  if (r.tensors.length > 0) {
    out.push('', `tensors (${r.tensors.length}):`);
    const nw = Math.max(...r.tensors.map((t) => t.name.length), 4);
    out.push(`  ${'name'.padEnd(nw)}  ${'type'.padEnd(6)} ${'shape'.padEnd(16)} bytes`);
    for (const t of r.tensors) {
      out.push(`  ${t.name.padEnd(nw)}  ${t.type.padEnd(6)} ${t.shape.join(' x ').padEnd(16)} ${t.bytes}`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('print architecture, hyperparameters, metadata, a tensor table, parameter count and memory estimate')
    .argument('<file>', 'GGUF file or llama2.c checkpoint')
    .option('--json', 'print one JSON object')
    .action((file: string, f: { json?: boolean }) => {
      const r = inspectFile(file);
      if (f.json === true) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else printInspection(r);
    });
}
