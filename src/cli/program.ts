/** The `streamllm` command line (entered through main.ts). Only this folder exits the process. */
import { Command, CommanderError } from 'commander';
import { registerBench } from './bench.js';
import { registerConvert } from './convert.js';
import { registerGenerate } from './generate.js';
import { registerInspect } from './inspect.js';
import { registerPpl } from './ppl.js';
import { registerTokenize } from './tokenize.js';
import { reportError } from './util.js';

const program = new Command();
program
  .name('streamllm')
  .description('StreamingLLM (attention sinks) in TypeScript: run language models over endless streams in bounded memory')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerGenerate(program);
registerTokenize(program);
registerInspect(program);
registerConvert(program);
registerPpl(program);
registerBench(program);

// stdout may be a pipe closed early (`| head`): end quietly instead of crashing.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    process.exitCode = reportError(e);
  }
}
