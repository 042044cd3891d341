/** `streamllm tokenize`: print token ids for a text (works on vocabulary-only GGUF files). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { StreamLlmError } from '../errors.js';
import { GgufFile } from '../formats/gguf/reader.js';
import { Llama2cCheckpoint } from '../formats/llama2c/checkpoint.js';
import { detectFormat, llama2cTokenizer } from '../runtime/load.js';
import { tokenizerFromGguf } from '../tokenizer/from-gguf.js';
import { readHfTokenizerFiles, tokenizerFromHf } from '../tokenizer/from-hf.js';
import { hfTokenizerHints, openHfWeights } from '../models/hf/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { NO_MODEL_MESSAGE } from './util.js';

/** Only the tokenizer is read: no weights are loaded. */
export function openTokenizer(model: string, tokenizerBin?: string): Tokenizer {
  const format = detectFormat(model);
  if (format === 'hf') {
    // A Hugging Face folder: tokenizer.json, with config.json's hints; no weights are read.
    const w = openHfWeights(model);
    try {
      const files = readHfTokenizerFiles(model);
      if (files === undefined) {
        throw new StreamLlmError('TOKENIZER_MISSING', `${model} has no tokenizer.json`, { context: { file: model } });
      }
      return tokenizerFromHf(files, hfTokenizerHints(w));
    } finally {
      w.close();
    }
  }
  if (format === 'gguf') {
    const f = GgufFile.open(model);
    try {
      if (tokenizerBin !== undefined) return llama2cTokenizer(tokenizerBin, f.getNumber('llama.vocab_size'));
      return tokenizerFromGguf(f);
    } finally {
      f.close();
    }
  }
  const ck = Llama2cCheckpoint.open(model);
  const vocab = ck.config.vocabSize;
  ck.close();
  if (tokenizerBin === undefined) {
    throw new StreamLlmError('TOKENIZER_MISSING', `${model} is a llama2.c checkpoint, which has no tokenizer inside`, {
      context: { file: model },
      hint: 'pass --tokenizer tokenizer.bin',
    });
  }
  return llama2cTokenizer(tokenizerBin, vocab);
}

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description('print the token ids of a text, separated by spaces (reads stdin when --text is absent)')
    .option('-m, --model <file>', 'GGUF (a vocabulary-only file is enough) or llama2.c checkpoint')
    .option('--tokenizer <file>', 'llama2.c tokenizer.bin')
    .option('--text <text>', 'text to tokenize')
    .option('--no-bos', 'do not prepend BOS')
    .option('--parse-special', 'recognise special-token text such as <s> in the input')
    .action((f: { model?: string; tokenizer?: string; text?: string; bos: boolean; parseSpecial?: boolean }) => {
      if (f.model === undefined) throw new StreamLlmError('BAD_ARGUMENT', NO_MODEL_MESSAGE);
      const tok = openTokenizer(f.model, f.tokenizer);
      const text = f.text ?? readFileSync(0, 'utf8');
      const ids = tok.encode(text, { addBos: f.bos && tok.addBos, parseSpecial: f.parseSpecial === true });
      process.stdout.write(ids.join(' ') + '\n');
    });
}
