"""Export a trained checkpoint as GGUF, the file llama.cpp (and what builds on it) runs.

``python -m pipeline.inference.export models/studied/seed_0 --out model.gguf`` writes the model under
llama.cpp's ``qwen2`` architecture, whose graph is ours: RMSNorm pre-norm, rotary attention with
the half-split (NEOX) rotation, SwiGLU, an untied head with an optional ``output.bias``. qwen2
always adds q/k/v biases, so those are written as zeros.

* Ternary block linears become ``TQ2_0`` (2.06 bits per weight) or ``TQ1_0`` (1.69): 256-wide
  blocks, each holding its codes and one fp16 magnitude. We hand the ``gguf`` package's quantizer
  codes x alpha, so every block that holds a non-zero code stores alpha itself (the per-tensor
  scale in every block, rounded to fp16) and the codes come back exactly.
* TQ blocks need rows whose length is a multiple of 256. The SwiGLU hidden width is padded with
  zero units to the next multiple (2050 -> 2304 in the paper's model): a zero gate and up row give
  silu(0) * 0 = 0, and the zero down columns read nothing, so the padding is exact. A ternary
  tensor whose rows still do not fit (model width not a multiple of 256) falls back to ``Q8_0``
  (ternary codes x alpha are exact in int8 with a per-32 scale) or, if rows are not a multiple of
  32 either, to the wide type; the export lists each fallback with its reason.
* FP32 block linears (the FP32 twin), the embedding and the head use the wide type (``f32``,
  ``f16`` or ``bf16``; ``bf16`` by default, as in our packed checkpoints); norms and biases stay f32.
  The head alone may take another type (``head_type``), ``q8_0`` included: int8 with one fp16 scale
  per 32 values, llama.cpp's counterpart of our int8 head with one scale per row.
* The WordPiece vocabulary goes in as llama.cpp's ``bert`` tokenizer, in its spelling: pieces
  that continue a word lose their ``##``, others gain a leading U+2581; bracketed specials stay.

Our per-token int8 activations have no GGUF equivalent: llama.cpp quantizes activations per
256-block (Q8_K) for TQ dot products, so logits agree closely but not bit for bit
(:mod:`pipeline.inference.llamacpp` measures how closely).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import gguf
import numpy as np
import torch
from tokenizers import Tokenizer

from pipeline.model.checkpoint import load_model
from pipeline.errors import InputError, MissingInputError, one_line_errors
from pipeline.io import atomic_path
from pipeline.model.transformer import NORM_EPS, TransformerLM, mlp_hidden_size
from pipeline.model.quant import ternary_codes
from pipeline.data.tokenizer import CLS, MASK, PAD, SEP, UNK, load_tokenizer

ARCHITECTURE = "qwen2"
TQ_BLOCK = 256  # QK_K: elements per TQ1_0 / TQ2_0 block
Q8_BLOCK = 32
TERNARY_TYPES = {"tq2_0": gguf.GGMLQuantizationType.TQ2_0, "tq1_0": gguf.GGMLQuantizationType.TQ1_0}
WIDE_TYPES = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
              "bf16": gguf.GGMLQuantizationType.BF16}
# The head's types: a wide type, or Q8_0 (34 bytes per 32 values: an fp16 scale and 32 int8 codes).
HEAD_TYPES = WIDE_TYPES | {"q8_0": gguf.GGMLQuantizationType.Q8_0}
FILE_TYPES = {"tq2_0": gguf.LlamaFileType.MOSTLY_TQ2_0, "tq1_0": gguf.LlamaFileType.MOSTLY_TQ1_0,
              "f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
              "bf16": gguf.LlamaFileType.MOSTLY_BF16}
# Our module names -> llama.cpp's tensor names (gguf.TENSOR_NAMES, per block).
BLOCK_LINEARS = {"attn.wq": "attn_q", "attn.wk": "attn_k", "attn.wv": "attn_v", "attn.wo": "attn_output",
                 "mlp.w1": "ffn_gate", "mlp.w3": "ffn_up", "mlp.w2": "ffn_down"}
BLOCK_NORMS = {"attn_norm": "attn_norm", "mlp_norm": "ffn_norm"}


@dataclass
class ExportSummary:
    """What one export wrote: the file, its types, and every tensor that is not the requested type."""

    path: str
    architecture: str
    ternary_type: str
    wide_type: str
    head_type: str
    ffn_hidden: int
    ffn_hidden_padded: int
    tensor_types: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)
    file_bytes: int = 0


def padded_hidden(model: TransformerLM, ternary_type: str) -> int:
    """The SwiGLU width written: a multiple of 256 for TQ types (zero units are exact), else as trained."""
    hidden = mlp_hidden_size(model.arch)
    return -(-hidden // TQ_BLOCK) * TQ_BLOCK if ternary_type in TERNARY_TYPES else hidden


def _pad(weight: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols), dtype=np.float32)
    out[:weight.shape[0], :weight.shape[1]] = weight
    return out


def _linear_weight(layer, rows: int, cols: int) -> tuple[np.ndarray, bool]:
    """The weight as the model computes with it (codes x alpha for a ternary layer), zero-padded."""
    weight = layer.weight.detach().float()
    ternary = layer.quant == "ternary"
    if ternary:
        alpha = layer.effective_scale().float()
        weight = ternary_codes(weight, alpha) * alpha
    elif layer.quant != "fp32":
        raise InputError(f"cannot export a {layer.quant!r} layer as GGUF: only ternary and fp32 models")
    return _pad(weight.numpy(), rows, cols), ternary


def _ternary_type_for(name: str, cols: int, requested: str, wide: str, summary: ExportSummary
                      ) -> gguf.GGMLQuantizationType:
    if requested in TERNARY_TYPES and cols % TQ_BLOCK == 0:
        return TERNARY_TYPES[requested]
    if requested in TERNARY_TYPES and cols % Q8_BLOCK == 0:
        summary.fallbacks[name] = (f"rows of {cols} are not a multiple of {TQ_BLOCK} ({requested} blocks): "
                                   f"stored as q8_0, which holds ternary codes x alpha exactly")
        return gguf.GGMLQuantizationType.Q8_0
    if requested in TERNARY_TYPES:
        summary.fallbacks[name] = (f"rows of {cols} are a multiple of neither {TQ_BLOCK} ({requested}) nor "
                                   f"{Q8_BLOCK} (q8_0): stored as {wide}")
    return WIDE_TYPES[wide] if requested in TERNARY_TYPES else WIDE_TYPES[requested]


def _tensors(model: TransformerLM, ternary_type: str, wide_type: str, head_type: str, summary: ExportSummary):
    """(gguf name, array, type) for every tensor of the file, in llama.cpp's names and layout."""
    dim, hidden = model.arch.dim, summary.ffn_hidden_padded
    f32 = gguf.GGMLQuantizationType.F32
    state = {name: tensor.detach().float().numpy() for name, tensor in model.state_dict().items()}
    yield "token_embd.weight", state["embed.weight"], WIDE_TYPES[wide_type]
    for i, block in enumerate(model.blocks):
        for ours, theirs in BLOCK_NORMS.items():
            yield f"blk.{i}.{theirs}.weight", state[f"blocks.{i}.{ours}.weight"], f32
        for ours, theirs in BLOCK_LINEARS.items():
            layer = block.get_submodule(ours)
            rows = hidden if ours in ("mlp.w1", "mlp.w3") else dim
            cols = hidden if ours == "mlp.w2" else dim
            weight, ternary = _linear_weight(layer, rows, cols)
            name = f"blk.{i}.{theirs}.weight"
            qtype = _ternary_type_for(name, cols, ternary_type, wide_type, summary) if ternary \
                else WIDE_TYPES[wide_type if ternary_type in TERNARY_TYPES else ternary_type]
            yield name, weight, qtype
            if theirs in ("attn_q", "attn_k", "attn_v"):  # qwen2's graph adds these biases
                yield f"blk.{i}.{theirs}.bias", np.zeros(dim, dtype=np.float32), f32
    yield "output_norm.weight", state["norm.weight"], f32
    yield "output.weight", state["head.weight"], HEAD_TYPES[head_type]
    yield "output.bias", state["head.bias"], f32


def gguf_vocabulary(tokenizer: Tokenizer | Path) -> tuple[list[str], list[int], dict[str, int]]:
    """Token strings in llama.cpp's WordPiece spelling, their types, and the special token ids."""
    source = tokenizer
    tokenizer = load_tokenizer(tokenizer) if isinstance(tokenizer, Path) else tokenizer
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [index for _, index in by_id] != list(range(len(by_id))):
        raise InputError(f"{source}: token ids are not 0..{len(by_id) - 1} without gaps")
    tokens, types = [], []
    for token, _ in by_id:
        special = token.startswith("[") and token.endswith("]")
        tokens.append(token if special else token[2:] if token.startswith("##") else "\u2581" + token)
        types.append(int(gguf.TokenType.CONTROL if special else gguf.TokenType.NORMAL))
    specials = {name: vocab[token] for name, token in
                (("bos", CLS), ("eos", SEP), ("unk", UNK), ("pad", PAD), ("mask", MASK))
                if token in vocab}
    return tokens, types, specials


def _write_metadata(writer: gguf.GGUFWriter, model: TransformerLM, tokenizer: Tokenizer | Path, summary: ExportSummary,
                    name: str) -> None:
    arch = model.arch
    writer.add_name(name)
    writer.add_context_length(arch.seq_len)
    writer.add_embedding_length(arch.dim)
    writer.add_block_count(arch.n_layers)
    writer.add_feed_forward_length(summary.ffn_hidden_padded)
    writer.add_head_count(arch.n_heads)
    writer.add_head_count_kv(arch.n_heads)
    writer.add_rope_freq_base(10000.0)  # pipeline.model.transformer.rotary_tables' base
    writer.add_layer_norm_rms_eps(NORM_EPS)
    writer.add_file_type(FILE_TYPES[summary.ternary_type])
    tokens, types, specials = gguf_vocabulary(tokenizer)
    if len(tokens) != model.vocab_size:
        where = tokenizer if isinstance(tokenizer, Path) else "the tokenizer"
        raise InputError(f"{where} has {len(tokens)} tokens but the model's head has {model.vocab_size}: "
                         "export the tokenizer the checkpoint was trained with (data/tokens/tokenizer.json)")
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    for key, token_id in specials.items():
        getattr(writer, {"bos": "add_bos_token_id", "eos": "add_eos_token_id", "unk": "add_unk_token_id",
                         "pad": "add_pad_token_id", "mask": "add_mask_token_id"}[key])(token_id)
    # Training streams are stories each followed by [SEP]; nothing is prepended.
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)


def export_gguf(model: TransformerLM, tokenizer: Tokenizer | Path, out_path: Path, ternary_type: str = "tq2_0",
                wide_type: str = "bf16", name: str = "TernaryLM", head_type: str | None = None) -> ExportSummary:
    """Write ``model`` as a GGUF file (atomically); return what was written.

    ``ternary_type`` is ``tq2_0`` / ``tq1_0`` for the ternary layers, or a wide type to store every
    block linear at that precision (an F32 reference file, say); ``wide_type`` is the embedding's and
    the head's (and an FP32 model's linears' when ``ternary_type`` is a TQ type); ``head_type``, when
    given, is the head's instead (a wide type or ``q8_0``). The file type follows ``ternary_type``
    whatever the head: a TQ2_0 file with a Q8_0 head is still MOSTLY_TQ2_0."""
    head_type = wide_type if head_type is None else head_type
    if ternary_type not in TERNARY_TYPES and ternary_type not in WIDE_TYPES:
        raise InputError(f"unknown ternary type {ternary_type!r}; accepted: {sorted(TERNARY_TYPES | WIDE_TYPES)}")
    if wide_type not in WIDE_TYPES:
        raise InputError(f"unknown wide type {wide_type!r}; accepted: {sorted(WIDE_TYPES)}")
    if head_type not in HEAD_TYPES:
        raise InputError(f"unknown head type {head_type!r}; accepted: {sorted(HEAD_TYPES)}")
    if head_type == "q8_0" and model.arch.dim % Q8_BLOCK:
        raise InputError(f"a q8_0 head needs rows whose length is a multiple of {Q8_BLOCK}; "
                         f"this model's are {model.arch.dim} long")
    if model.role.attention != "causal" or model.role.positions != "rope":
        raise InputError("only causal models with rotary positions map onto llama.cpp's qwen2 graph; this checkpoint "
                         f"has attention={model.role.attention}, positions={model.role.positions}")
    summary = ExportSummary(path=str(out_path), architecture=ARCHITECTURE, ternary_type=ternary_type,
                            wide_type=wide_type, head_type=head_type, ffn_hidden=mlp_hidden_size(model.arch),
                            ffn_hidden_padded=padded_hidden(model, ternary_type))
    with atomic_path(out_path) as tmp:
        writer = gguf.GGUFWriter(str(tmp), ARCHITECTURE)
        _write_metadata(writer, model, tokenizer, summary, name)
        with torch.no_grad():
            for tensor_name, array, qtype in _tensors(model, ternary_type, wide_type, head_type, summary):
                # F32 / F16 arrays as they are; every other type as bytes the gguf package packs
                data = gguf.quants.quantize(np.ascontiguousarray(array, dtype=np.float32), qtype)
                writer.add_tensor(tensor_name, data, raw_dtype=qtype)
                summary.tensor_types[tensor_name] = qtype.name
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    summary.file_bytes = out_path.stat().st_size
    return summary


def read_tensor_types(path: Path) -> dict[str, str]:
    """Tensor name -> GGML type name, as ``gguf.GGUFReader`` reads the file back."""
    return {tensor.name: tensor.tensor_type.name for tensor in gguf.GGUFReader(str(path)).tensors}


def main(argv: list[str] | None = None) -> ExportSummary:
    parser = argparse.ArgumentParser(description="Write a trained checkpoint as GGUF (llama.cpp's qwen2 graph).")
    parser.add_argument("checkpoint", type=Path, help="a model folder (models/studied/seed_0) or its model.safetensors")
    parser.add_argument("--tokenizer", type=Path, default=Path("data/tokens/tokenizer.json"),
                        help="the tokenizer the model was trained with (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="the .gguf file to write")
    parser.add_argument("--ternary-type", default="tq2_0", choices=sorted(TERNARY_TYPES | WIDE_TYPES),
                        help="type of the ternary block linears (default: %(default)s)")
    parser.add_argument("--wide-type", default="bf16", choices=sorted(WIDE_TYPES),
                        help="type of the embedding and head (default: %(default)s)")
    parser.add_argument("--head-type", choices=sorted(HEAD_TYPES),
                        help="type of the head alone (default: the wide type); q8_0: int8 per 32 values")
    args = parser.parse_args(argv)
    with one_line_errors():
        summary = _export(args)
    _print_summary(args.out, summary)
    return summary


def _export(args: argparse.Namespace) -> ExportSummary:
    checkpoint = args.checkpoint / "model.safetensors" if args.checkpoint.is_dir() else args.checkpoint
    for path, what in ((checkpoint, "checkpoint"), (args.tokenizer, "tokenizer")):
        if not path.is_file():
            raise MissingInputError(f"{what} {path} not found")
    model, _ = load_model(checkpoint)
    return export_gguf(model, args.tokenizer, args.out, args.ternary_type, args.wide_type, head_type=args.head_type)


def _print_summary(out: Path, summary: ExportSummary) -> None:
    types: dict[str, int] = {}
    for qtype in summary.tensor_types.values():
        types[qtype] = types.get(qtype, 0) + 1
    print(f"wrote {out} ({summary.file_bytes / 1e6:.1f} MB, {ARCHITECTURE}): "
          + ", ".join(f"{count} {qtype}" for qtype, count in sorted(types.items()))
          + (f"; SwiGLU width {summary.ffn_hidden} padded to {summary.ffn_hidden_padded} with zero units"
             if summary.ffn_hidden_padded != summary.ffn_hidden else ""))
    for tensor_name, reason in summary.fallbacks.items():
        print(f"  {tensor_name}: {reason}")


if __name__ == "__main__":
    main()
