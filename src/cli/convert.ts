/** `streamllm convert`: llama2.c checkpoint or Hugging Face folder → GGUF with the tokenizer embedded. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { convertHf } from '../convert/hf.js';
import { convertLlama2c, WEIGHT_TYPES, type WeightType } from '../convert/llama2c.js';
import { StreamLlmError } from '../errors.js';
import { formatBytes, info } from './util.js';

const FORMATS = ['llama2c', 'hf'];

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('convert a llama2.c checkpoint or a Hugging Face checkpoint folder to a GGUF that llama.cpp and streamllm load')
    .argument('<model>', 'llama2.c checkpoint (.bin), or a folder with config.json, safetensors weights and tokenizer.json')
    .requiredOption('--from <format>', `input format (${FORMATS.join(', ')})`)
    .option('--tokenizer <file>', 'llama2.c tokenizer.bin to embed (tokenizer.ggml.*)')
    .requiredOption('-o, --output <file>', 'output GGUF path')
    .option('--type <type>', `weight type for matrices: ${Object.keys(WEIGHT_TYPES).join(', ')} (default: f32 for llama2c; for hf the checkpoint's own F32/F16/BF16)`, (v: string) => {
      if (!(v in WEIGHT_TYPES)) throw new InvalidArgumentError(`must be one of ${Object.keys(WEIGHT_TYPES).join(', ')}`);
      return v;
    })
    .action((model: string, f: { from: string; tokenizer?: string; output: string; type?: WeightType }) => {
      if (!FORMATS.includes(f.from)) {
        throw new StreamLlmError('BAD_ARGUMENT', `--from ${f.from} is not supported`, { hint: `supported: ${FORMATS.join(', ')}` });
      }
      let last = -1;
      const onProgress = (done: number, total: number) => {
        const pct = Math.floor((100 * done) / total);
        if (process.stderr.isTTY && pct !== last) {
          process.stderr.write(`\rconverting ${pct}%`);
          last = pct;
        }
      };
      if (f.from === 'hf') {
        if (f.tokenizer !== undefined) throw new StreamLlmError('BAD_ARGUMENT', '--tokenizer is for llama2c; an hf folder brings its tokenizer.json');
        const r = convertHf({ dir: model, output: f.output, onProgress, ...(f.type !== undefined ? { type: f.type } : {}) });
        if (process.stderr.isTTY) process.stderr.write('\r');
        if (!r.tokenizer) info('warning: the folder has no tokenizer.json; the GGUF has no tokenizer and llama.cpp will refuse it');
        info(`wrote ${f.output} (${formatBytes(r.bytes)}, ${f.type ?? 'source types'})`);
        return;
      }
      if (f.tokenizer === undefined) info('warning: no --tokenizer given; the GGUF will have no tokenizer and llama.cpp will refuse it');
      const type = f.type ?? 'f32';
      const bytes = convertLlama2c({ model, output: f.output, type, onProgress, ...(f.tokenizer !== undefined ? { tokenizer: f.tokenizer } : {}) });
      if (process.stderr.isTTY) process.stderr.write('\r');
      info(`wrote ${f.output} (${formatBytes(bytes)}, ${type})`);
    });
}
