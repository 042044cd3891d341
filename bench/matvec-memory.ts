/**
 * Is a matvec kernel compute- or memory-bound? GB/s of weight bytes for one
 * (rows, cols) matrix re-read while it sits in L2, against 160 copies of it
 * streamed from DRAM, for each packed type (asm/packed.ts), on one thread.
 * Equal numbers mean the kernel is compute-bound; a higher cached number
 * means memory is the limit.
 *
 *   node --import tsx bench/matvec-memory.ts [--rows 768] [--cols 768] [--copies 160] [--layout ggml]
 *
 * --layout ggml keeps ggml's row-after-row layout (no adoptWeight), to see
 * what the interleaved layouts gain.
 */
import { createWasmOps } from '../src/kernels/wasm/index.js';
import type { WeightMatrix } from '../src/kernels/types.js';
import { GgmlType, typeName } from '../src/tensor/dtype.js';
import { quantize } from '../src/tensor/quant.js';
import { args, machine, median, saveResult } from './common.js';

const a = args();
const rows = Number(a.get('rows') ?? 768);
const cols = Number(a.get('cols') ?? 768);
const copies = Number(a.get('copies') ?? 160);
const plain = a.get('layout') === 'ggml';
const ops = await createWasmOps({ threads: 1 });
const out: Record<string, unknown>[] = [];
try {
  const x = ops.allocF32(cols);
  for (let i = 0; i < cols; i++) x[i] = Math.cos(i);
  const y = ops.allocF32(rows);
  for (const type of [GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const f = new Float32Array(rows * cols);
    for (let j = 0; j < f.length; j++) f[j] = Math.sin(j * 0.37) * 0.05;
    const q = quantize(type, f);
    const make = (): WeightMatrix => {
      const data = ops.alloc(q.length);
      data.set(q);
      const w: WeightMatrix = { name: typeName(type), type, rows, cols, data };
      return plain ? w : ops.adoptWeight(w);
    };
    const time = (ws: WeightMatrix[], reps: number): number => {
      const t: number[] = [];
      for (let s = 0; s < 15; s++) {
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) for (const w of ws) ops.matmul(y, w, x, 1);
        t.push(performance.now() - t0);
      }
      return (q.length * ws.length * reps) / median(t) / 1e6;
    };
    const one = make();
    const cached = time([one], Math.max(1, Math.round(200 * (768 * 768) / (rows * cols))));
    const many = Array.from({ length: copies }, make);
    const dram = time(many, 1);
    for (const w of [one, ...many]) ops.free(w.data);
    out.push({ type: typeName(type), layout: one.layout ?? 'ggml', cached_gb_s: cached, dram_gb_s: dram });
    console.error(`${typeName(type).padEnd(5)} ${rows}x${cols} (${one.layout ?? 'ggml'}): L2-resident ${cached.toFixed(1)} GB/s, streamed from DRAM ${dram.toFixed(1)} GB/s`);
  }
} finally {
  await ops.close();
}
const result = { machine: machine(), command: `node --import tsx bench/matvec-memory.ts --rows ${rows} --cols ${cols} --copies ${copies}${plain ? ' --layout ggml' : ''}`, rows: out };
console.log(JSON.stringify(result, null, 2));
saveResult(plain ? 'matvec-memory-ggml' : 'matvec-memory', result);
