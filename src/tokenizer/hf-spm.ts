/**
 * SentencePiece-style tokenizer.json (Llama 1/2, Mistral, TinyLlama: a BPE
 * model with byte_fallback whose normalizer writes spaces as '▁') as an
 * SpmVocab. HF merges by the rank of a *pair*; our SpmTokenizer (and
 * llama.cpp's SPM) merge by the score of the *resulting piece*. They agree
 * exactly when (a) every way to split a vocabulary piece into two vocabulary
 * pieces is a merge and (b) the merges producing one piece are adjacent in
 * the list — which is how transformers turns a SentencePiece model into
 * tokenizer.json (all splits, sorted by the piece's score). We check both and
 * score each piece by its first merge; a file that fails either is
 * TOKENIZER_UNSUPPORTED, never silently approximated.
 */
import { StreamLlmError } from '../errors.js';
import { hfUnsupported as unsupported, parts, type HfSpecials, type HfTokenizerJson, type HfTokenTable, type Obj } from './hf-json.js';
import { hasByteTokens, validateSpmVocab, SPM_SPACE, type SpmVocab } from './spm-vocab.js';

const isSpaceToMeta = (n: Obj): boolean => {
  const p = n['pattern'] as Obj | undefined;
  return n['type'] === 'Replace' && p?.['String'] === ' ' && n['content'] === SPM_SPACE;
};

/** SentencePiece style: spaces become '▁' (normalizer Replace, or a Metaspace pre-tokenizer). */
export function isSpmStyle(tj: HfTokenizerJson): boolean {
  return parts(tj.normalizer, 'normalizers', tj.file).some(isSpaceToMeta) || parts(tj.preTokenizer, 'pretokenizers', tj.file).some((p) => p['type'] === 'Metaspace');
}

/** The SpmVocab for a SentencePiece-style tokenizer.json (after isSpmStyle). */
export function spmVocabFromHf(tj: HfTokenizerJson, table: HfTokenTable, sp: HfSpecials): SpmVocab {
  const norm = parts(tj.normalizer, 'normalizers', tj.file);
  for (const n of norm) {
    const ok = isSpaceToMeta(n) || (n['type'] === 'Prepend' && n['prepend'] === SPM_SPACE);
    if (!ok) throw unsupported(tj.file, 'normalizer', `normalizer step '${String(n['type'])}' is not supported for SentencePiece-style vocabularies`);
  }
  const meta = parts(tj.preTokenizer, 'pretokenizers', tj.file);
  for (const p of meta) {
    if (p['type'] !== 'Metaspace' || p['replacement'] !== SPM_SPACE || p['split'] === true) {
      throw unsupported(tj.file, 'pre_tokenizer', `pre-tokenizer '${String(p['type'])}' is not supported for SentencePiece-style vocabularies`);
    }
  }
  if (tj.ignoreMerges) throw unsupported(tj.file, 'model.ignore_merges', 'ignore_merges with byte fallback is not supported');
  const m = meta[0];
  // Prepend('▁') in the normalizer, or Metaspace with a prepend scheme (older files: add_prefix_space).
  const addSpacePrefix =
    norm.some((n) => n['type'] === 'Prepend') ||
    (m !== undefined && (m['prepend_scheme'] === 'always' || m['prepend_scheme'] === 'first' || (m['prepend_scheme'] === undefined && m['add_prefix_space'] !== false)));
  return validateSpmVocab({
    tokens: table.tokens,
    scores: scoresFromMerges(tj, table),
    types: table.types,
    bos: sp.bos,
    eos: sp.eos,
    unk: sp.unk,
    pad: sp.pad,
    addBos: sp.addBos ?? true,
    addEos: sp.addEos ?? false,
    addSpacePrefix,
    byteFallback: hasByteTokens(table.types),
    eogIds: table.eogIds.filter((id) => id !== sp.eos),
  });
}

/**
 * Scores that make "merge the best-scoring piece" choose what "merge the
 * best-ranked pair" chooses, after checking the two conditions in the file
 * comment. Pieces no merge produces never result from a pair and keep 0.
 */
function scoresFromMerges(tj: HfTokenizerJson, table: HfTokenTable): Float32Array {
  const { ids, tokens } = table;
  const scores = new Float32Array(tokens.length);
  const pairs = new Set<string>();
  const started = new Set<string>();
  let current: string | undefined;
  tj.merges.forEach(([a, b], rank) => {
    const piece = a + b;
    const id = ids.get(piece);
    if (id === undefined || !ids.has(a) || !ids.has(b)) {
      throw new StreamLlmError('TOKENIZER_BAD_VOCAB', `${tj.file}: merge ${rank} "${a} ${b}" uses a token missing from the vocabulary`, {
        context: { file: tj.file, field: 'model.merges', actual: `${a} ${b}` },
      });
    }
    if (piece !== current) {
      if (started.has(piece)) {
        throw unsupported(tj.file, 'model.merges', `the merges producing ${JSON.stringify(piece)} are not adjacent (rank ${rank}), so pair ranks and piece scores disagree`,
          'this tokenizer.json was not derived from a SentencePiece model; it cannot be reproduced exactly by a score-based tokenizer');
      }
      started.add(piece);
      current = piece;
      scores[id] = -started.size;
    }
    pairs.add(`${a}\u0000${b}`);
  });
  tokens.forEach((t) => {
    const cps = Array.from(t);
    let left = '';
    for (let i = 0; i < cps.length - 1; i++) {
      left += cps[i]!;
      const right = t.slice(left.length);
      if (ids.has(left) && ids.has(right) && !pairs.has(`${left}\u0000${right}`)) {
        throw unsupported(tj.file, 'model.merges', `${JSON.stringify(t)} splits into the tokens ${JSON.stringify(left)} + ${JSON.stringify(right)} but no merge joins them`,
          'a score-based tokenizer would join them; this tokenizer.json was not derived from a SentencePiece model');
      }
    }
  });
  return scores;
}
