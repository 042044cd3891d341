/**
 * A strict JSON parser for untrusted headers. JSON.parse would do for the
 * syntax, but it silently keeps the last of two equal keys — and a
 * safetensors header naming one tensor twice is exactly the kind of damage we
 * must report — and it builds plain objects, where a key like "__proto__"
 * means something. Here objects become Maps (insertion order kept), a
 * duplicate key is an error with its position, and nesting is bounded so a
 * hostile "[[[[..." cannot exhaust the stack.
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export type JsonObject = Map<string, Json>;

export class JsonError extends Error {
  constructor(
    message: string,
    /** UTF-16 index into the text where parsing stopped. */
    readonly pos: number,
    /** Set for a repeated object key, with the depth of its object (0 = top level). */
    readonly duplicate?: { key: string; depth: number },
  ) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Parses `text` as one JSON value (RFC 8259), surrounded by optional whitespace.
 * @example
 * const v = parseStrictJson('{"a": [1, 2]}') as JsonObject;
 * v.get('a'); // [1, 2]
 */
export function parseStrictJson(text: string, maxDepth = 32): Json {
  let i = 0;
  // Annotated so TypeScript knows the calls below do not return.
  const fail: (what: string) => never = (what) => {
    throw new JsonError(i >= text.length ? `unexpected end of JSON (${what})` : `${what} at character ${i}`, i);
  };
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else return;
    }
  };
  const expect = (ch: string): void => {
    ws();
    if (text[i] !== ch) fail(`expected '${ch}'`);
    i++;
  };

  const string = (): string => {
    i++; // opening quote
    let out = '';
    let run = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(run, i++);
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(run, i);
      const e = text[i + 1] ?? '';
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else {
        const s = ESCAPES[e];
        if (s === undefined) fail('bad escape');
        out += s;
        i += 2;
      }
      run = i;
    }
  };

  const value = (depth: number): Json => {
    ws();
    const c = text[i];
    if (c === '"') return string();
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      i++;
      ws();
      return c === '{' ? object(depth) : array(depth);
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) return fail('expected a value');
    i += m[0].length;
    return Number(m[0]);
  };

  const object = (depth: number): JsonObject => {
    const obj: JsonObject = new Map();
    if (text[i] === '}') {
      i++;
      return obj;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected a string key');
      const at = i;
      const key = string();
      if (obj.has(key)) throw new JsonError(`duplicate key ${JSON.stringify(key)} at character ${at}`, at, { key, depth });
      expect(':');
      obj.set(key, value(depth + 1));
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      expect('}');
      return obj;
    }
  };

  const array = (depth: number): Json[] => {
    const arr: Json[] = [];
    if (text[i] === ']') {
      i++;
      return arr;
    }
    for (;;) {
      arr.push(value(depth + 1));
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      expect(']');
      return arr;
    }
  };

  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters after the JSON value');
  return v;
}

export function isJsonObject(v: Json | undefined): v is JsonObject {
  return v instanceof Map;
}
