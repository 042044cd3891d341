/**
 * llama.cpp's tokenizer test vectors (tests/test-tokenizer-0), shared by the
 * SentencePiece and byte-level BPE vector tests.
 *
 * File convention, worked out from the files: the .inp file is
 * `text + '\n__ggml_vocab_test__\n'` repeated, so splitting on that separator
 * leaves one empty string after the last case (dropped); a case may itself be
 * '' or consist of newlines. The .out file has one line per case, ids
 * separated by spaces (with a leading space), an empty line for no ids.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const SEPARATOR = '\n__ggml_vocab_test__\n';

export interface VectorCase {
  text: string;
  ids: number[];
}

export function loadCases(inpPath: string, outPath: string): VectorCase[] {
  const inputs = readFileSync(inpPath, 'utf8').split(SEPARATOR);
  assert.equal(inputs.pop(), '', 'the .inp file must end with the separator');
  const lines = readFileSync(outPath, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop(); // trailing newline of the file
  assert.equal(lines.length, inputs.length, `${inputs.length} inputs but ${lines.length} output lines`);
  return inputs.map((text, i) => {
    const line = lines[i]!.trim();
    return { text, ids: line === '' ? [] : line.split(/\s+/).map(Number) };
  });
}
