/**
 * Token roles that GGUF does not record but llama.cpp infers from token text
 * (llama_vocab::impl::load). Converters rarely write eot/fim ids, so llama.cpp
 * recognises these pieces by name, makes them CONTROL (so they are no longer
 * matched in plain text) and treats the end-of-turn ones as end of
 * generation. We apply the same table so a GGUF tokenizes as it does in
 * llama.cpp — e.g. Phi-3's `</s>` is USER_DEFINED in the file but CONTROL in
 * llama.cpp, which changes how the text "</s>" is encoded.
 */
import { TokenType } from './types.js';

/** End of generation (end of turn, end of text); forced CONTROL. */
const EOG_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>',
  '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>',
  '<end_of_utterance>', '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
  // fill-in-the-middle pad / repo / file separator
  '<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]',
  '<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>', '<|file_sep|>',
];

/** Fill-in-the-middle prefix / suffix / middle markers; forced CONTROL, not end of generation. */
const FIM_TEXTS = [
  '<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>',
  '<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>',
  '<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>',
];

const EOG = new Set(EOG_TEXTS);
const FORCE_CONTROL = new Set([...EOG_TEXTS, ...FIM_TEXTS]);

/**
 * Returns token types with llama.cpp's text-based CONTROL overrides applied
 * (a copy; `types` is not modified) and the ids recognised as end of
 * generation by text.
 */
export function inferTokenRoles(tokens: readonly string[], types: Int32Array): { types: Int32Array; eogIds: number[] } {
  const out = types.slice();
  const eogIds: number[] = [];
  tokens.forEach((t, id) => {
    if (!FORCE_CONTROL.has(t)) return;
    out[id] = TokenType.CONTROL;
    if (EOG.has(t)) eogIds.push(id);
  });
  return { types: out, eogIds };
}
