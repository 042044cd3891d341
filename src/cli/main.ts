#!/usr/bin/env node
/**
 * The `streamllm` command. This entry only tunes the JavaScript heap, then
 * loads the program (./program.ts, bundled): the tuning must come before the
 * modules load, since loading them is most of the allocation a short run does.
 *
 * Why: V8 doubles its young generation when many objects survive a
 * collection, which loading modules and a model's metadata does, and keeps
 * it; 2.8 MiB of peak RSS on `streamllm bench` of a 110M Q4_0 file (158 vs
 * 161 MiB), for nothing in a program whose hot loops allocate (almost)
 * nothing. The growth factor is read each time the space would grow, so
 * setting it here takes effect (the size flags are read only at start-up).
 */
import { existsSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--semi-space-growth-factor=1');
// The build bundles program.ts and its imports into one file (scripts/bundle-cli.mjs: less memory); without it,
// or when a tsc-only rebuild left it older than program.js, the modules load one by one.
const bundle = new URL('./streamllm.bundle.js', import.meta.url);
const program = new URL('./program.js', import.meta.url);
const fresh = existsSync(bundle) && !(existsSync(program) && statSync(program).mtimeMs > statSync(bundle).mtimeMs);
await import(fresh ? bundle.href : program.href);
