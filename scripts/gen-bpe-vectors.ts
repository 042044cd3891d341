/**
 * Generates the project's own byte-level BPE test vectors: llama.cpp
 * (through node-llama-cpp, a dev dependency) tokenizes a fixed list of hard
 * strings with each vocabulary-only GGUF that ships without vectors, and the
 * results go to test/data/vocab-vectors/<name>.json. The inputs are ours;
 * the ids and texts are llama.cpp's output, the reference the tests compare
 * against (test/tokenizer-bpe-vectors.test.ts).
 *
 *   node --import tsx scripts/gen-bpe-vectors.ts [fixtures dir]
 *
 * The fixtures dir defaults to ../shared/fixtures (or $STREAMLLM_FIXTURES).
 * Each file records the vocabulary's SHA-256 so a test run against a
 * different file fails loudly instead of comparing unrelated ids.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = process.argv[2] ?? process.env['STREAMLLM_FIXTURES'] ?? join(ROOT, '..', 'shared', 'fixtures');
const OUT_DIR = join(ROOT, 'test', 'data', 'vocab-vectors');
const VOCABS = ['gpt-2', 'gpt-neox', 'mpt', 'falcon'] as const;

/**
 * Hard cases, grouped by what they stress. Every pre-tokenizer rule
 * (contractions, letter / digit / other runs, `\s+(?!\S)`, digit groups) and
 * every kind of special token (control, user-defined whitespace runs) is hit.
 */
const INPUTS: readonly string[] = [
  // whitespace alone and in runs
  '', ' ', '  ', '   ', '\t', '\n', '\n\n\n', '\t\n', ' \t \n \r\n', '\r\n\r\nwindows\r\nlines',
  'trailing spaces   ', '   leading spaces', 'a                         b', ' '.repeat(60) + 'x',
  '    indented\n        more\n\t\ttabs\n',
  // words and contractions
  'Hello world', ' Hello world', 'Hello  world', 'Hello   \n  world',
  "I'm, you're, we've, they'll, he'd, it's, don't", "I'M YOU'RE WE'VE THEY'LL HE'D IT'S DON'T",
  "'s 't 're 've 'm 'll 'd", "rock 'n' roll ' ' quote''s", 'MiXeD CaSe WoRdS and CamelCaseIdentifiers_with_snake',
  // digits
  '1234567', '3 33 333 3333 33333 333333', '1,234,567.89 and -0.5e10', 'version 3.14.159 build #42',
  '1234567890'.repeat(3), '\u0663\u0664\u0665 \u0661\u0662\u0663 \u00b2\u00b3 \u00bd \u2153 \u216b',
  // scripts
  '我想在apple工作1314151天～', '日本語のテキスト、カタカナ。', '한국어 텍스트입니다', 'Привет, мир! Ёжик в тумане.',
  'Ελληνικά γράμματα ΑΒΓ', 'مرحبا بالعالم', 'שלום עולם', 'हिन्दी में पाठ', 'ក្រុមហ៊ុន', 'ภาษาไทย',
  'Cửa Việt, façade, naïve, Ærøskøbing, straße', 'e\u0301 (combining acute) a\u0308\u0304',
  'Ünïcödé ẞ ŉ ǅ ﬁ ligature', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 astral letters', '∀x∈ℝ: x² ≥ 0 ⇒ √x ∈ ℝ⁺',
  // emoji
  '🦙🚀 emoji 😀', '👨\u200d👩\u200d👧\u200d👦 family ZWJ, 🏳\ufe0f\u200d🌈 flag, 👍🏽 skin tone', '🇯🇵🇺🇸 regional indicators',
  // code
  'def foo(x):\n    return x**2 + 1\n', 'for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}',
  'const re = /[a-z]+$/gi; // regex\n', '<html><body class="x">&amp; &lt;</body></html>',
  "SELECT * FROM t WHERE a >= 10 AND b <> 'x';", '$x = @{ "k" = 1 }; echo `date` | grep ~/.bashrc ^C',
  'http://example.com/path?q=1&r=two#frag', 'email@example.org +1-800-555-0199',
  // punctuation runs
  '!!!!!! ???? ... ,,, ;;; ::', '(((((nested))))) [[[x]]] {{{y}}}', '--- *** ___ ===  +++ ~~~', 'Hello , world ! How are you ?',
  // control and invisible characters
  'control\u0000chars\u0001\u0007\u001b[31m\u007f', 'nbsp\u00a0here\u2009thin\u3000ideographic\u2028line\u2029para\u0085nel',
  '\ufeffBOM at start and zero\u200bwidth\u200cjoiners\u200d', 'soft\u00adhyphen and\u00a0non-breaking',
  '\ue000\uf8ff private use, \u0378 unassigned, \u{10fffd} plane 16', 'x\ud800y lone surrogate',
  // special-token text
  '<|endoftext|>', 'before<|endoftext|>after', '<|endoftext|><|endoftext|> twice', '<|padding|> <s> </s> <unk> >>TITLE<< >>ABSTRACT<<',
  '[PAD50300] and <|end|>',
];

interface VectorFile {
  description: string;
  command: string;
  generator: { nodeLlamaCpp: string; llamaCpp: string };
  vocab: { file: string; sha256: string };
  cases: { text: string; ids: number[]; idsParseSpecial: number[]; detokenized: string }[];
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** One case per line: diffs stay readable and the files stay small. */
function format(v: VectorFile): string {
  const head = { ...v, cases: undefined };
  const lines = JSON.stringify(head, null, 2).split('\n');
  lines.pop(); // closing brace
  lines[lines.length - 1] += ',';
  lines.push('  "cases": [');
  v.cases.forEach((c, i) => lines.push(`    ${JSON.stringify(c)}${i + 1 < v.cases.length ? ',' : ''}`));
  lines.push('  ]', '}', '');
  return lines.join('\n');
}

const nodeLlamaCppVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')) as { version: string }).version;
const llama = await getLlama({ build: 'never', gpu: false, logLevel: LlamaLogLevel.disabled });
try {
  const release = `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`;
  mkdirSync(OUT_DIR, { recursive: true });
  for (const name of VOCABS) {
    const file = `ggml-vocab-${name}.gguf`;
    const path = join(FIXTURES, 'vocab', file);
    const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    try {
      const cases = INPUTS.map((text) => {
        const ids = [...model.tokenize(text, false)].map(Number);
        return {
          text,
          ids,
          idsParseSpecial: [...model.tokenize(text, true)].map(Number),
          detokenized: model.detokenize(ids as never, false),
        };
      });
      const out: VectorFile = {
        description: `llama.cpp tokenization of hard strings with ${file}: ids = tokenize(text, add_special=false, parse_special=false), ` +
          'idsParseSpecial = the same with parse_special=true, detokenized = llama_detokenize(ids, remove_special=false, unparse_special=false)',
        command: 'node --import tsx scripts/gen-bpe-vectors.ts',
        generator: { nodeLlamaCpp: nodeLlamaCppVersion, llamaCpp: release },
        vocab: { file, sha256: sha256(path) },
        cases,
      };
      const target = join(OUT_DIR, `${name}.json`);
      writeFileSync(target, format(out));
      console.log(`${target}: ${cases.length} cases`);
    } finally {
      await model.dispose();
    }
  }
} finally {
  await llama.dispose();
}
