/** `streamllm convert`: llama2.c checkpoint → GGUF with the tokenizer embedded. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { convertLlama2c, WEIGHT_TYPES, type WeightType } from '../convert/llama2c.js';
import { StreamLlmError } from '../errors.js';
import { formatBytes, info } from './util.js';

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('convert a llama2.c checkpoint to a llama GGUF that llama.cpp and streamllm load')
    .argument('<model>', 'llama2.c checkpoint (.bin)')
    .requiredOption('--from <format>', 'input format (llama2c)')
    .option('--tokenizer <file>', 'llama2.c tokenizer.bin to embed (tokenizer.ggml.*)')
    .requiredOption('-o, --output <file>', 'output GGUF path')
    .option('--type <type>', `weight type for matrices: ${Object.keys(WEIGHT_TYPES).join(', ')}`, (v: string) => {
      if (!(v in WEIGHT_TYPES)) throw new InvalidArgumentError(`must be one of ${Object.keys(WEIGHT_TYPES).join(', ')}`);
      return v;
    }, 'f32')
    .action((model: string, f: { from: string; tokenizer?: string; output: string; type: WeightType }) => {
      if (f.from !== 'llama2c') {
        throw new StreamLlmError('BAD_ARGUMENT', `--from ${f.from} is not supported yet`, { hint: 'supported: llama2c' });
      }
      if (f.tokenizer === undefined) info('warning: no --tokenizer given; the GGUF will have no tokenizer and llama.cpp will refuse it');
      let last = -1;
      const bytes = convertLlama2c({
        model,
        output: f.output,
        type: f.type,
        ...(f.tokenizer !== undefined ? { tokenizer: f.tokenizer } : {}),
        onProgress: (done, total) => {
          const pct = Math.floor((100 * done) / total);
          if (process.stderr.isTTY && pct !== last) {
            process.stderr.write(`\rconverting ${pct}%`);
            last = pct;
          }
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\r');
      info(`wrote ${f.output} (${formatBytes(bytes)}, ${f.type})`);
    });
}
