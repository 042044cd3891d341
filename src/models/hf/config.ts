/**
 * Typed reads of a Hugging Face `config.json`. transformers writes `null` for
 * "use the default", and several families renamed keys over time (Falcon's
 * `n_head` → `num_attention_heads`), so every accessor takes a list of names
 * and treats null as absent. A wrong type is BAD_HPARAMS and a missing key
 * without default is MISSING_METADATA, both naming the key.
 */
import { StreamLlmError } from '../../errors.js';

type Keys = string | readonly string[];

/**
 * @example
 * const cfg = HfConfig.from(JSON.parse(text), 'config.json');
 * cfg.int(['num_attention_heads', 'n_head']);    // Falcon's old and new names
 * cfg.num('rms_norm_eps', 1e-6);                 // null or absent → the default
 */
export class HfConfig {
  private constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    /** For messages: the config.json path. */
    readonly file: string,
    /** 'attn_config.' for a nested object, so errors name the full key. */
    private readonly prefix: string,
  ) {}

  /** Wraps a parsed config.json (BAD_HPARAMS unless it is a JSON object). */
  static from(json: unknown, file: string): HfConfig {
    if (!isRecord(json)) throw new StreamLlmError('BAD_HPARAMS', `${file} is not a JSON object`, { context: { file } });
    return new HfConfig(json, file, '');
  }

  /** True when one of the keys is present and not null. */
  has(keys: Keys): boolean {
    return this.find(keys) !== undefined;
  }

  str(keys: Keys, fallback?: string): string {
    return this.get(keys, fallback, 'a string', (v): v is string => typeof v === 'string');
  }

  bool(keys: Keys, fallback?: boolean): boolean {
    return this.get(keys, fallback, 'true or false', (v): v is boolean => typeof v === 'boolean');
  }

  num(keys: Keys, fallback?: number): number {
    return this.get(keys, fallback, 'a finite number', (v): v is number => typeof v === 'number' && Number.isFinite(v));
  }

  /** A non-negative safe integer (sizes and counts). */
  int(keys: Keys, fallback?: number): number {
    return this.get(keys, fallback, 'a non-negative integer', (v): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  }

  /** A nested object (MPT's `attn_config`), or undefined when absent. */
  child(key: string): HfConfig | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (!isRecord(v)) throw this.bad(key, 'an object', v);
    return new HfConfig(v, this.file, `${this.prefix}${key}.`);
  }

  /** The raw value (for fields with several shapes, e.g. `rope_scaling`). */
  value(key: string): unknown {
    return this.raw[key] ?? undefined;
  }

  /** The full dotted name of a key, for error messages. */
  field(key: string): string {
    return this.prefix + key;
  }

  private find(keys: Keys): [string, unknown] | undefined {
    for (const k of typeof keys === 'string' ? [keys] : keys) {
      const v = this.raw[k];
      if (v !== undefined && v !== null) return [k, v];
    }
    return undefined;
  }

  private get<T>(keys: Keys, fallback: T | undefined, what: string, ok: (v: unknown) => v is T): T {
    const hit = this.find(keys);
    if (hit === undefined) {
      if (fallback !== undefined) return fallback;
      const names = (typeof keys === 'string' ? [keys] : keys).map((k) => this.field(k));
      throw new StreamLlmError('MISSING_METADATA', `${this.file} lacks '${names.join("' / '")}'`, { context: { file: this.file, field: names[0] } });
    }
    if (!ok(hit[1])) throw this.bad(hit[0], what, hit[1]);
    return hit[1];
  }

  private bad(key: string, what: string, v: unknown): StreamLlmError {
    return new StreamLlmError('BAD_HPARAMS', `${this.field(key)} = ${JSON.stringify(v)} must be ${what}`, {
      context: { file: this.file, field: this.field(key), actual: v },
    });
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
