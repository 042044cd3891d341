/**
 * Where a process's peak RSS lives: runs a command, polls its VmRSS every
 * millisecond, and each time a new peak is seen reads /proc/PID/smaps and
 * sums resident bytes by mapping: the wasm memory (taken to be any
 * anonymous mapping of 99+ MiB: how V8 maps it is V8's choice, so read the
 * labels as a guide), each file (the node binary, libraries), and the other
 * anonymous mappings by size class (V8 heap pages are 256 KiB; thread stacks
 * and malloc arenas make the larger ones). Linux only.
 *
 *   node --import tsx bench/rss-breakdown.ts node dist/cli/main.js bench -m bench/out/llama-110m-q4_0.gguf --threads 2 --kv-type f16 --json
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const cmd = process.argv.slice(2);
if (cmd.length === 0) {
  console.error('usage: rss-breakdown.ts COMMAND [ARGS...]');
  process.exit(2);
}

function breakdown(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let cur = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m !== null) {
      const mib = (parseInt(m[2]!, 16) - parseInt(m[1]!, 16)) / 2 ** 20;
      const size = mib >= 1 ? `${Math.round(mib)} MiB` : `${Math.round(mib * 1024)} KiB`;
      cur = m[4] !== '' ? m[4]!.replace(/.*\//, '') : mib >= 99 ? 'wasm memory' : `anonymous ${size} ${m[3]}`;
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r !== null && cur !== '') out.set(cur, (out.get(cur) ?? 0) + Number(r[1]) / 1024);
  }
  return out;
}

const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
child.on('error', (e) => {
  console.error(`cannot run ${cmd[0]}: ${e.message}`);
  process.exit(2);
});
let peak = 0;
let atPeak = new Map<string, number>();
const timer = setInterval(() => {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
    if (rss > peak + 0.2) {
      peak = rss;
      atPeak = breakdown(child.pid!);
    }
  } catch {
    // The process is starting or has exited.
  }
}, 1);
child.on('exit', (code) => {
  clearInterval(timer);
  const rows = [...atPeak].filter(([, v]) => v >= 0.3).sort((a, b) => b[1] - a[1]);
  const rest = [...atPeak.values()].filter((v) => v < 0.3).reduce((a, b) => a + b, 0);
  const lines = [`peak RSS seen ${peak.toFixed(1)} MiB (exit code ${code}); resident MiB at that peak:`];
  for (const [k, v] of rows) lines.push(`${v.toFixed(1).padStart(8)}  ${k}`);
  lines.push(`${rest.toFixed(1).padStart(8)}  (mappings under 0.3 MiB each)`);
  process.stdout.write(lines.join('\n') + '\n');
});
