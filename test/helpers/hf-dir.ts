/**
 * Hugging Face checkpoint folders made from our random-weight GGUF files, for
 * "the safetensors folder gives the same logits as the GGUF". The HF side is
 * written here from the HF layouts themselves — names as transformers'
 * modeling files declare them, q/k rows in rotate_half order, fused QKV
 * interleaved per head (GPT-NeoX) or per KV group (Falcon) — deliberately not
 * by inverting src/models/hf, so the loader is checked against a second,
 * independent statement of the same facts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GgufFile } from '../../src/formats/gguf/index.js';
import { writeSafetensors, type SafetensorsDtype, type SafetensorsWriterTensor } from '../../src/formats/safetensors/index.js';
import { hparamsFromGguf } from '../../src/models/registry.js';
import type { Hparams } from '../../src/models/types.js';
import { ggufMetadataReader } from '../../src/runtime/load.js';
import { GgmlType } from '../../src/tensor/dtype.js';
import { dequantize, quantize } from '../../src/tensor/quant.js';

export interface HfDirOptions {
  /** dtype of 2-D weights; 1-D tensors are written as `vectorDtype` (default: the same). */
  readonly dtype?: 'F32' | 'F16' | 'BF16';
  readonly vectorDtype?: 'F32' | 'F16' | 'BF16';
  /** >1 writes model-0000i-of-0000n.safetensors plus model.safetensors.index.json. */
  readonly shards?: number;
  /** config.json model_type (default from the architecture; 'mistral' for a Llama with a window). */
  readonly modelType?: string;
  /** Merged over the generated config.json (null deletes a key). */
  readonly config?: Record<string, unknown>;
  /** Extra HF tensors to store (buffers the loader must skip, or junk it must refuse). */
  readonly extra?: readonly SafetensorsWriterTensor[];
  /** Written as tokenizer.json / tokenizer_config.json when given. */
  readonly tokenizer?: unknown;
  readonly tokenizerConfig?: unknown;
}

/** HF name of each GGUF tensor, per architecture: transformers' module paths. */
function hfName(hp: Hparams, gguf: string): string {
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(gguf);
  const g = /^(\w+)\.(weight|bias)$/.exec(gguf);
  const tables: Record<Hparams['arch'], { top: Record<string, string>; layer: (i: string) => string; block: Record<string, string> }> = {
    llama: {
      top: { token_embd: 'model.embed_tokens', output_norm: 'model.norm', output: 'lm_head' },
      layer: (i) => `model.layers.${i}.`,
      block: {
        attn_norm: 'input_layernorm', ffn_norm: 'post_attention_layernorm',
        attn_q: 'self_attn.q_proj', attn_k: 'self_attn.k_proj', attn_v: 'self_attn.v_proj', attn_output: 'self_attn.o_proj',
        ffn_gate: 'mlp.gate_proj', ffn_up: 'mlp.up_proj', ffn_down: 'mlp.down_proj',
      },
    },
    qwen2: { top: {}, layer: () => '', block: {} }, // same as llama, filled below
    gptneox: {
      top: { token_embd: 'gpt_neox.embed_in', output_norm: 'gpt_neox.final_layer_norm', output: 'embed_out' },
      layer: (i) => `gpt_neox.layers.${i}.`,
      block: {
        attn_norm: 'input_layernorm', ffn_norm: 'post_attention_layernorm', attn_qkv: 'attention.query_key_value',
        attn_output: 'attention.dense', ffn_up: 'mlp.dense_h_to_4h', ffn_down: 'mlp.dense_4h_to_h',
      },
    },
    mpt: {
      top: { token_embd: 'transformer.wte', output_norm: 'transformer.norm_f', output: 'lm_head' },
      layer: (i) => `transformer.blocks.${i}.`,
      block: { attn_norm: 'norm_1', ffn_norm: 'norm_2', attn_qkv: 'attn.Wqkv', attn_output: 'attn.out_proj', ffn_up: 'ffn.up_proj', ffn_down: 'ffn.down_proj' },
    },
    falcon: {
      top: { token_embd: 'transformer.word_embeddings', output_norm: 'transformer.ln_f', output: 'lm_head' },
      layer: (i) => `transformer.h.${i}.`,
      block: {
        attn_qkv: 'self_attention.query_key_value', attn_output: 'self_attention.dense', ffn_up: 'mlp.dense_h_to_4h', ffn_down: 'mlp.dense_4h_to_h',
        ...(hp.arch === 'falcon' && hp.separateAttnNorm ? { attn_norm: 'ln_mlp', attn_norm_2: 'ln_attn' } : { attn_norm: 'input_layernorm' }),
      },
    },
  };
  const t = tables[hp.arch === 'qwen2' ? 'llama' : hp.arch];
  const name = m !== null ? (t.block[m[2]!] === undefined ? undefined : `${t.layer(m[1]!)}${t.block[m[2]!]}.${m[3]}`) : g !== null && t.top[g[1]!] !== undefined ? `${t.top[g[1]!]}.${g[2]}` : undefined;
  if (name === undefined) throw new Error(`no HF name for ${gguf} (${hp.arch})`);
  return name;
}

/**
 * For each HF row, the GGUF row holding it (HF = GGUF rows reordered).
 * Llama q/k: HF rotates dims (i, i + d/2) of a head; GGUF llama pairs (2j, 2j+1).
 */
function hfRowSource(hp: Hparams, gguf: string, rows: number): Int32Array | undefined {
  const idx = new Int32Array(rows);
  const hd = hp.headDim;
  if (hp.arch === 'llama' && /attn_[qk]\.weight$/.test(gguf)) {
    for (let r = 0; r < rows; r++) {
      const head = Math.floor(r / hd);
      const i = r % hd;
      const half = hd / 2;
      idx[r] = head * hd + (i < half ? 2 * i : 2 * (i - half) + 1);
    }
    return idx;
  }
  if (hp.arch === 'gptneox' && /attn_qkv\./.test(gguf)) {
    // HF: for each head, its q rows, then k, then v.
    for (let r = 0; r < rows; r++) {
      const head = Math.floor(r / (3 * hd));
      const part = Math.floor((r % (3 * hd)) / hd);
      idx[r] = part * hp.nHeads * hd + head * hd + (r % hd);
    }
    return idx;
  }
  if (hp.arch === 'falcon' && /attn_qkv\./.test(gguf)) {
    // HF: for each KV group, its query heads, then the group's k, then its v.
    const q = hp.nHeads / hp.kvHeads;
    for (let r = 0; r < rows; r++) {
      const group = Math.floor(r / ((q + 2) * hd));
      const slot = Math.floor((r % ((q + 2) * hd)) / hd);
      const d = r % hd;
      idx[r] = slot < q ? (group * q + slot) * hd + d : slot === q ? (hp.nHeads + group) * hd + d : (hp.nHeads + hp.kvHeads + group) * hd + d;
    }
    return idx;
  }
  return undefined;
}

/** config.json for `hp`, as transformers writes it for the family. */
export function hfConfigFor(hp: Hparams, modelType?: string): Record<string, unknown> {
  const common = { vocab_size: hp.vocabSize, torch_dtype: 'float32' };
  switch (hp.arch) {
    case 'llama':
    case 'qwen2':
      return {
        ...common,
        model_type: modelType ?? hp.arch,
        hidden_size: hp.dim,
        intermediate_size: hp.ffnDim,
        num_hidden_layers: hp.layers,
        num_attention_heads: hp.nHeads,
        num_key_value_heads: hp.kvHeads,
        head_dim: hp.headDim,
        max_position_embeddings: hp.contextLength,
        rms_norm_eps: hp.normEps,
        rope_theta: hp.rope.base,
        hidden_act: 'silu',
        tie_word_embeddings: false,
        ...(hp.slidingWindow !== undefined ? { sliding_window: hp.slidingWindow, use_sliding_window: true } : {}),
      };
    case 'gptneox':
      return {
        ...common,
        model_type: 'gpt_neox',
        hidden_size: hp.dim,
        intermediate_size: hp.ffnDim,
        num_attention_heads: hp.nHeads,
        num_hidden_layers: hp.layers,
        max_position_embeddings: hp.contextLength,
        layer_norm_eps: hp.normEps,
        rotary_pct: hp.rope.dims / hp.headDim,
        rotary_emb_base: hp.rope.base,
        use_parallel_residual: hp.parallelResidual,
        hidden_act: 'gelu',
        tie_word_embeddings: false,
      };
    case 'mpt':
      return {
        ...common,
        model_type: 'mpt',
        d_model: hp.dim,
        n_heads: hp.nHeads,
        n_layers: hp.layers,
        expansion_ratio: hp.ffnDim / hp.dim,
        max_seq_len: hp.contextLength,
        no_bias: !hp.bias,
        layer_norm_epsilon: hp.normEps,
        learned_pos_emb: false,
        norm_type: 'low_precision_layernorm',
        attn_config: {
          alibi: hp.alibiMaxBias > 0,
          alibi_bias_max: hp.alibiMaxBias,
          clip_qkv: hp.clampKqv ?? null,
          qk_ln: false,
          attn_type: hp.kvHeads === hp.nHeads ? 'multihead_attention' : 'grouped_query_attention',
          kv_n_heads: hp.kvHeads,
        },
      };
    case 'falcon':
      return {
        ...common,
        model_type: 'falcon',
        hidden_size: hp.dim,
        num_attention_heads: hp.nHeads,
        num_hidden_layers: hp.layers,
        num_kv_heads: hp.kvHeads,
        new_decoder_architecture: hp.separateAttnNorm,
        multi_query: hp.kvHeads === 1,
        parallel_attn: true,
        bias: false,
        alibi: false,
        layer_norm_epsilon: hp.normEps,
        rope_theta: hp.rope.base,
        ffn_hidden_size: hp.ffnDim,
        max_position_embeddings: hp.contextLength,
      };
  }
}

const GGML: Record<'F32' | 'F16' | 'BF16', GgmlType> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

/** Writes `dir` (created) from the GGUF at `ggufPath`; returns the GGUF's Hparams. */
export function hfDirFromGguf(ggufPath: string, dir: string, opts: HfDirOptions = {}): Hparams {
  mkdirSync(dir, { recursive: true });
  const f = GgufFile.open(ggufPath);
  try {
    const hp = hparamsFromGguf(ggufMetadataReader(f), f.tensors);
    const tensors: SafetensorsWriterTensor[] = f.tensors.map((t) => {
      const dtype: SafetensorsDtype = t.dims.length === 1 ? (opts.vectorDtype ?? opts.dtype ?? 'F32') : (opts.dtype ?? 'F32');
      const shape = [...t.dims].reverse();
      return {
        name: hfName(hp, t.name),
        dtype,
        shape,
        data: () => {
          const n = t.dims.reduce((a, b) => a * b, 1);
          const x = new Float32Array(n);
          dequantize(t.type, f.tensorBytes(t), 0, x, 0, n);
          const rows = t.dims.length === 1 ? t.dims[0]! : t.dims[1]!;
          const cols = n / rows;
          const src = hfRowSource(hp, t.name, rows);
          const y = src === undefined ? x : new Float32Array(n);
          if (src !== undefined) for (let r = 0; r < rows; r++) y.set(x.subarray(src[r]! * cols, (src[r]! + 1) * cols), r * cols);
          return quantize(GGML[dtype as 'F32'], y);
        },
      };
    });
    tensors.push(...(opts.extra ?? []));
    writeWeights(dir, tensors, opts.shards ?? 1);
    const config: Record<string, unknown> = { ...hfConfigFor(hp, opts.modelType), ...(opts.config ?? {}) };
    for (const [k, v] of Object.entries(config)) if (v === null) delete config[k];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
    if (opts.tokenizer !== undefined) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(opts.tokenizer));
    if (opts.tokenizerConfig !== undefined) writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(opts.tokenizerConfig));
    return hp;
  } finally {
    f.close();
  }
}

function writeWeights(dir: string, tensors: SafetensorsWriterTensor[], shards: number): void {
  if (shards <= 1) {
    writeSafetensors(join(dir, 'model.safetensors'), { metadata: { format: 'pt' }, tensors });
    return;
  }
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(tensors.length / shards);
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    // Reverse order inside a shard: the index, not file order, must decide.
    const part = tensors.slice(s * per, (s + 1) * per).reverse();
    for (const t of part) weightMap[t.name] = file;
    writeSafetensors(join(dir, file), { metadata: { format: 'pt' }, tensors: part });
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2));
}
