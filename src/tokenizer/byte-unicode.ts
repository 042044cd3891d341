/**
 * GPT-2's reversible byte ↔ character mapping ("bytes_to_unicode").
 *
 * Byte-level BPE vocabularies store every token as a string of printable
 * characters, one per byte: bytes that are already visible Latin-1
 * characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, and the
 * other 68 (controls, space, DEL, NBSP, soft hyphen, ...) are moved, in byte
 * order, to U+0100, U+0101, ... — so a space becomes 'Ġ' (U+0120) and a
 * newline 'Ċ' (U+010A). Every mapped character is a single UTF-16 unit, so a
 * byte-encoded word has exactly one string index per byte.
 */

function isSelfMapped(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

/** The character standing for each byte value. (256) */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = [];
  let moved = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(isSelfMapped(b) ? b : 0x100 + moved++));
  return out;
})();

/** Inverse of BYTE_TO_CHAR, indexed by UTF-16 code unit; -1 for characters that stand for no byte. (0x144) */
const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => {
    out[c.charCodeAt(0)] = b;
  });
  return out;
})();

/** The byte a mapped character stands for, or -1. */
export function charToByte(code: number): number {
  return code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code]! : -1;
}

/** UTF-8 bytes → their byte-level string ('Hello world' → 'HelloĠworld'). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}
