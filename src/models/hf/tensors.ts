/**
 * Hugging Face tensor names and layouts → GGUF (llama.cpp's conventions,
 * which our architectures read). Shapes map by reversal: HF (out, in) is
 * ggml dims [in, out]. Three tensors also differ in row order, and we
 * reorder them at load so that a checkpoint gives the same model as the GGUF
 * llama.cpp's converter (convert_hf_to_gguf.py) writes from it:
 *
 *  - Llama/Mistral q_proj, k_proj: HF rotates each head's dimension i with
 *    i + d/2 (rotate_half, the "halves" layout); GGUF llama files rotate
 *    adjacent pairs (2j, 2j+1). Permuting each head's rows so HF row
 *    s·d/2 + j becomes row 2j + s turns one into the other exactly — it is
 *    llama.cpp's `permute` — so the llama architecture keeps its 'adjacent'
 *    RoPE, and a converted GGUF is a normal llama file. (The alternative,
 *    keeping HF rows and rotating 'halves', is the `llamaRope: 'halves'`
 *    option; a test checks both give the same logits.)
 *    Qwen2, GPT-NeoX and Falcon rotate halves in GGUF too: no permutation.
 *  - GPT-NeoX query_key_value (weight and bias): HF interleaves per head
 *    [q_h | k_h | v_h]; GGUF holds [all Q | all K | all V].
 *  - Falcon query_key_value: HF groups per KV head [its n_head/n_kv query
 *    heads | k | v] (7B: one group; old non-multi-query: one per head);
 *    GGUF holds [all Q | all K | all V] (the "jploski" layout).
 * MPT's Wqkv is already [Q | K | V].
 */
import type { Hparams } from '../types.js';

export interface HfTensorMap {
  /** The HF name of a GGUF tensor, or undefined when checkpoints have none (e.g. rope_freqs). */
  hfName(gguf: string): string | undefined;
  /** For tensors whose rows are reordered: GGUF row r is HF row `rows[r]`. */
  rows(gguf: string): Int32Array | undefined;
  /** HF tensors that are buffers, not weights (causal masks, rotary caches); skipped. */
  readonly ignore: RegExp;
}

interface Names {
  /** GGUF base name (without .weight/.bias) → HF base name, outside blocks. */
  readonly globals: Readonly<Record<string, string>>;
  /** HF prefix of block i, before the index. */
  readonly layer: string;
  /** GGUF per-block name → HF name inside the block. */
  readonly block: Readonly<Record<string, string>>;
}

const LLAMA: Names = {
  globals: { token_embd: 'model.embed_tokens', output_norm: 'model.norm', output: 'lm_head' },
  layer: 'model.layers.',
  block: {
    attn_norm: 'input_layernorm',
    attn_q: 'self_attn.q_proj',
    attn_k: 'self_attn.k_proj',
    attn_v: 'self_attn.v_proj',
    attn_output: 'self_attn.o_proj',
    ffn_norm: 'post_attention_layernorm',
    ffn_gate: 'mlp.gate_proj',
    ffn_up: 'mlp.up_proj',
    ffn_down: 'mlp.down_proj',
  },
};

const GPTNEOX: Names = {
  globals: { token_embd: 'gpt_neox.embed_in', output_norm: 'gpt_neox.final_layer_norm', output: 'embed_out' },
  layer: 'gpt_neox.layers.',
  block: {
    attn_norm: 'input_layernorm',
    attn_qkv: 'attention.query_key_value',
    attn_output: 'attention.dense',
    ffn_norm: 'post_attention_layernorm',
    ffn_up: 'mlp.dense_h_to_4h',
    ffn_down: 'mlp.dense_4h_to_h',
  },
};

const MPT: Names = {
  globals: { token_embd: 'transformer.wte', output_norm: 'transformer.norm_f', output: 'lm_head' },
  layer: 'transformer.blocks.',
  block: { attn_norm: 'norm_1', attn_qkv: 'attn.Wqkv', attn_output: 'attn.out_proj', ffn_norm: 'norm_2', ffn_up: 'ffn.up_proj', ffn_down: 'ffn.down_proj' },
};

const FALCON_BLOCK = {
  attn_qkv: 'self_attention.query_key_value',
  attn_output: 'self_attention.dense',
  ffn_up: 'mlp.dense_h_to_4h',
  ffn_down: 'mlp.dense_4h_to_h',
};
const falconNames = (separateAttnNorm: boolean): Names => ({
  globals: { token_embd: 'transformer.word_embeddings', output_norm: 'transformer.ln_f', output: 'lm_head' },
  layer: 'transformer.h.',
  // 40B style: the MLP's norm is GGUF attn_norm (HF ln_mlp), attention's is attn_norm_2 (ln_attn).
  block: separateAttnNorm ? { ...FALCON_BLOCK, attn_norm: 'ln_mlp', attn_norm_2: 'ln_attn' } : { ...FALCON_BLOCK, attn_norm: 'input_layernorm' },
});

const GGUF_BLOCK = /^blk\.(\d+)\.(.+)\.(weight|bias)$/;
const GGUF_GLOBAL = /^(.+)\.(weight|bias)$/;

function hfNamer(n: Names): (gguf: string) => string | undefined {
  return (gguf) => {
    const b = GGUF_BLOCK.exec(gguf);
    if (b !== null) {
      const inner = n.block[b[2]!];
      return inner === undefined ? undefined : `${n.layer}${b[1]}.${inner}.${b[3]}`;
    }
    const g = GGUF_GLOBAL.exec(gguf);
    const outer = g === null ? undefined : n.globals[g[1]!];
    return outer === undefined ? undefined : `${outer}.${g![2]}`;
  };
}

/** Llama q/k: per head, GGUF row 2j + s is HF row s·d/2 + j. */
export function ropeHalvesToAdjacentRows(heads: number, headDim: number): Int32Array {
  const half = headDim / 2;
  const p = new Int32Array(heads * headDim);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      p[h * headDim + 2 * j] = h * headDim + j;
      p[h * headDim + 2 * j + 1] = h * headDim + half + j;
    }
  }
  return p;
}

/** GPT-NeoX fused QKV: GGUF [Q | K | V] from HF per-head [q_h | k_h | v_h]. */
export function neoxQkvRows(heads: number, headDim: number): Int32Array {
  const p = new Int32Array(3 * heads * headDim);
  for (let part = 0; part < 3; part++) {
    for (let h = 0; h < heads; h++) {
      for (let d = 0; d < headDim; d++) p[(part * heads + h) * headDim + d] = (h * 3 + part) * headDim + d;
    }
  }
  return p;
}

/** Falcon fused QKV: GGUF [Q | K | V] from HF per-KV-group [q … q | k | v]. */
export function falconQkvRows(heads: number, kvHeads: number, headDim: number): Int32Array {
  const perGroup = heads / kvHeads;
  const groupRows = (perGroup + 2) * headDim;
  const p = new Int32Array((heads + 2 * kvHeads) * headDim);
  for (let h = 0; h < heads; h++) {
    const src = Math.floor(h / perGroup) * groupRows + (h % perGroup) * headDim;
    for (let d = 0; d < headDim; d++) p[h * headDim + d] = src + d;
  }
  for (let g = 0; g < kvHeads; g++) {
    for (let d = 0; d < headDim; d++) {
      p[(heads + g) * headDim + d] = g * groupRows + perGroup * headDim + d;
      p[(heads + kvHeads + g) * headDim + d] = g * groupRows + (perGroup + 1) * headDim + d;
    }
  }
  return p;
}

/** Rotary inverse-frequency caches some checkpoints saved as if they were weights. */
const ROTARY_CACHE = /\.rotary_emb\.inv_freq$/;

/**
 * The map for `hp`; `llamaRope` says whether Llama q/k rows are permuted
 * (the hparams then say 'adjacent') or kept (style 'halves').
 * @example
 * hfTensorMap(hp, 'permute').hfName('blk.0.attn_q.weight'); // 'model.layers.0.self_attn.q_proj.weight'
 */
export function hfTensorMap(hp: Hparams, llamaRope: 'permute' | 'halves'): HfTensorMap {
  const none = () => undefined;
  switch (hp.arch) {
    case 'llama':
    case 'qwen2': {
      const permute = hp.arch === 'llama' && llamaRope === 'permute';
      return {
        hfName: hfNamer(LLAMA),
        rows: (g) => {
          if (!permute) return undefined;
          if (/^blk\.\d+\.attn_q\.weight$/.test(g)) return ropeHalvesToAdjacentRows(hp.nHeads, hp.headDim);
          if (/^blk\.\d+\.attn_k\.weight$/.test(g)) return ropeHalvesToAdjacentRows(hp.kvHeads, hp.headDim);
          return undefined;
        },
        ignore: ROTARY_CACHE,
      };
    }
    case 'gptneox':
      return {
        hfName: hfNamer(GPTNEOX),
        rows: (g) => (/^blk\.\d+\.attn_qkv\.(weight|bias)$/.test(g) ? neoxQkvRows(hp.nHeads, hp.headDim) : undefined),
        // Old checkpoints saved the causal mask and its fill value as buffers.
        ignore: /\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/,
      };
    case 'falcon':
      return {
        hfName: hfNamer(falconNames(hp.separateAttnNorm)),
        rows: (g) => (/^blk\.\d+\.attn_qkv\.weight$/.test(g) ? falconQkvRows(hp.nHeads, hp.kvHeads, hp.headDim) : undefined),
        ignore: ROTARY_CACHE,
      };
    case 'mpt':
      return { hfName: hfNamer(MPT), rows: none, ignore: /^$/ };
  }
}
