/**
 * Splitting text around special tokens before the subword algorithm runs,
 * following llama.cpp's `tokenizer_st_partition`:
 *  - candidates are tried longest text first, so `<|endoftext|>` wins over a
 *    shorter token that is its substring;
 *  - each candidate splits every still-raw fragment at all its occurrences;
 *  - a token flagged lstrip/rstrip swallows the whitespace next to it (only
 *    Phi-3 uses this today).
 * Shared by every tokenizer family; which tokens are candidates is the
 * caller's decision (see `SpecialMatcher`).
 */

/** A piece of input: raw text still to be tokenized, or an already-known token id. */
export type Fragment = { readonly text: string } | { readonly id: number };

export interface SpecialToken {
  readonly id: number;
  readonly text: string;
  /** Skip whitespace just before the token (llama.cpp LLAMA_TOKEN_ATTR_LSTRIP). */
  readonly lstrip: boolean;
  /** Skip whitespace just after the token (LLAMA_TOKEN_ATTR_RSTRIP). */
  readonly rstrip: boolean;
}

// C's isspace() in the "C" locale, which is what llama.cpp strips.
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Candidate special tokens, pre-sorted. `always` are matched in every text
 * (user-defined tokens); `onRequest` only when the caller parses specials
 * (control and unknown tokens).
 */
export class SpecialMatcher {
  private readonly always: readonly SpecialToken[];
  private readonly all: readonly SpecialToken[];

  constructor(tokens: readonly (SpecialToken & { readonly always: boolean })[]) {
    // Longest first; ties by id so the order is deterministic (llama.cpp's
    // std::sort leaves ties unspecified).
    const sorted = tokens
      .filter((t) => t.text.length > 0)
      .sort((a, b) => b.text.length - a.text.length || a.id - b.id);
    this.all = sorted;
    this.always = sorted.filter((t) => t.always);
  }

  partition(text: string, parseSpecial: boolean): Fragment[] {
    if (text.length === 0) return [];
    let frags: Fragment[] = [{ text }];
    for (const tok of parseSpecial ? this.all : this.always) {
      // Cheap pre-check: most candidates never occur in a given text.
      if (!frags.some((f) => 'text' in f && f.text.includes(tok.text))) continue;
      const next: Fragment[] = [];
      for (const f of frags) {
        if ('text' in f) splitOne(f.text, tok, next);
        else next.push(f);
      }
      frags = next;
    }
    return frags;
  }
}

function splitOne(raw: string, tok: SpecialToken, out: Fragment[]): void {
  let start = 0;
  for (;;) {
    const at = raw.indexOf(tok.text, start);
    if (at < 0) break;
    let leftEnd = at;
    if (tok.lstrip) while (leftEnd > start && isCSpace(raw.charCodeAt(leftEnd - 1))) leftEnd--;
    if (leftEnd > start) out.push({ text: raw.slice(start, leftEnd) });
    out.push({ id: tok.id });
    start = at + tok.text.length;
    if (tok.rstrip) while (start < raw.length && isCSpace(raw.charCodeAt(start))) start++;
  }
  if (start < raw.length) out.push({ text: raw.slice(start) });
}
