/**
 * Bundles the command line (dist/cli/program.js and everything it imports,
 * commander included) into one file, dist/cli/streamllm.bundle.js, which
 * dist/cli/main.js loads when present, and the kernel worker
 * (dist/kernels/wasm/worker.js and its imports) into worker.bundle.js beside
 * it, which the thread pool starts when present. Why: every ES module costs
 * the loader a record, a compile and heap, in each thread: one file instead
 * of ~100 took 2.5–3.7 MiB off the peak RSS of `streamllm bench` on a small
 * model on one thread (61–62 vs 64–66 MiB), and a one-file worker 2.5–3 MiB
 * more per worker (110M Q4_0, 2 threads: 155–156 vs 158–159). The library
 * (dist/index.js) stays unbundled; the .wasm files load from dist/kernels/.
 * Whitespace and syntax are minified (names kept, so stack traces still read):
 * V8 keeps a script's source for lazy compilation, and the smaller bundle
 * took 1.2–1.4 MiB off that same aidreams peak (63.3–63.7 -> 61.9–62.5 MiB).
 */
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: 'linked', logLevel: 'warning', minifyWhitespace: true, minifySyntax: true };

await build({
  ...common,
  entryPoints: ['dist/kernels/wasm/worker.js'],
  outfile: 'dist/kernels/wasm/worker.bundle.js',
});

await build({
  ...common,
  entryPoints: ['dist/cli/program.js'],
  outfile: 'dist/cli/streamllm.bundle.js',
  // commander is CommonJS and requires Node built-ins: give the ES module bundle a require.
  banner: { js: "import { createRequire as __streamllmRequire } from 'node:module'; const require = __streamllmRequire(import.meta.url);" },
});
