"""Packed ternary inference: a checkpoint that really holds ~2 (or 1.6) bits per ternary weight, and
the model that computes from the packed weights.

On disk (safetensors, metadata ``format: ternarylm-packed``): every block linear layer as its
ternary codes packed by ``pipeline.inference.packing`` (``2bit`` or ``base3``) plus one fp32 scale alpha;
embedding and head in ``head_dtype`` (fp32 or bf16; or ``int8``: the head as int8 codes with one fp32
scale per row and an fp32 bias, the embedding in bf16); norms in fp32. :func:`export_packed` writes one
from a trained :class:`~pipeline.model.transformer.TransformerLM`.

In memory, :class:`PackedTransformerLM` (from a file by :func:`load_packed`, or from a trained model
by :meth:`PackedTransformerLM.from_trained`) holds every block layer as 2-bit codes (a base-3 file is
repacked at load: 1.6 bits on disk, 2 bits resident) multiplied by the C++ kernel
(``pipeline.inference.kernels``) with int8 per-token activations, the same arithmetic the training
model fake-quantizes; without the kernel, the pure-PyTorch path. It runs the training model's pass
(:class:`~pipeline.model.transformer.DecoderLM`, :class:`~pipeline.model.transformer.Block`) over its
own layers.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F

from pipeline.config import ArchConfig, RoleModel
from pipeline.errors import InputError
from pipeline.inference.kernels import load_kernel, quantize_rows
from pipeline.inference.layers import EmbeddingInDtype, HeadInDtype, Int8Head, KernelRMSNorm, PackedTernaryLinear
from pipeline.inference.packing import PACKINGS, pack_ternary_2bit
from pipeline.io import atomic_path
from pipeline.model.quant import EPS, ternary_codes
from pipeline.model.transformer import (NORM_EPS, Block, DecodeCache, DecodeSlot, DecoderLM, KVCache, Past,
                                        TransformerLM, apply_rotary, attend, rotary_tables, split_heads)

FORMAT = "ternarylm-packed"
HEAD_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "int8": torch.int8}
# the embedding's dtype under each head_dtype: an int8 head keeps a bf16 embedding (one row is read per
# token, so its bytes barely matter for decoding), as llama.cpp's Q8_0-head files keep theirs
EMBED_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "int8": torch.bfloat16}
Rotary = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class PackedAttention(nn.Module):
    """Self-attention over packed projections. ``qkv`` is q, k and v as three layers (one call each:
    the paper's conditions) or as one stacked layer whose rows are q | k | v (they share their
    input, so the activations are quantized once and one matrix call does all three). ``rotary``
    is :func:`~pipeline.model.transformer.apply_rotary` or the kernel's (the same arithmetic)."""

    def __init__(self, arch: ArchConfig, causal: bool, qkv: list[PackedTernaryLinear], wo: PackedTernaryLinear,
                 rotary: Rotary = apply_rotary) -> None:
        super().__init__()
        if len(qkv) not in (1, 3):
            raise ValueError(f"q, k and v come from one stacked layer or three, not {len(qkv)}")
        self.causal, self.n_heads, self.rotary = causal, arch.n_heads, rotary
        self.qkv, self.wo = nn.ModuleList(qkv), wo

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None, sin: torch.Tensor | None, past: Past = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        parts = [layer(x) for layer in self.qkv]
        if len(parts) == 1:
            parts = parts[0].chunk(3, dim=-1)
        q, k, v = (split_heads(part, self.n_heads) for part in parts)
        if cos is not None:  # rotary positions; with learned positions the embedding carries them
            q, k = self.rotary(q, cos, sin), self.rotary(k, cos, sin)
        out, present = attend(q, k, v, past, self.causal, 0.0)
        return self.wo(out), present


class PackedSwiGLU(nn.Module):
    """w2(silu(gate) * up) over packed layers; ``gate_up`` is the gate and up layers, or one stacked
    layer whose rows are gate | up (as :class:`PackedAttention`'s q, k, v)."""

    def __init__(self, gate_up: list[PackedTernaryLinear], w2: PackedTernaryLinear) -> None:
        super().__init__()
        if len(gate_up) not in (1, 2):
            raise ValueError(f"gate and up come from one stacked layer or two, not {len(gate_up)}")
        self.gate_up, self.w2 = nn.ModuleList(gate_up), w2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [layer(x) for layer in self.gate_up]
        gate, up = parts[0].chunk(2, dim=-1) if len(parts) == 1 else parts
        return self.w2(F.silu(gate) * up)


class KernelDecodeBlock(Block):
    """A packed block whose one-token decoding step with a
    :class:`~pipeline.model.transformer.DecodeCache` runs as one C++ call (``decode_block``: the
    same layer functions, single-query attention over the cache written in place); the prefill and
    every other call run :class:`~pipeline.model.transformer.Block`'s own pass. Needs stacked q/k/v
    and gate/up layers (one each) and the kernel built."""

    def __init__(self, attn_norm: nn.RMSNorm, attn: PackedAttention, mlp_norm: nn.RMSNorm, mlp: PackedSwiGLU) -> None:
        if len(attn.qkv) != 1 or len(mlp.gate_up) != 1:
            raise ValueError("the one-call decoding step needs q/k/v and gate/up each stacked into one layer")
        super().__init__(attn_norm, attn, mlp_norm, mlp, dropout=0.0)

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None, sin: torch.Tensor | None, past: Past = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        if self.training or not isinstance(past, DecodeSlot) or x.shape[:2] != (1, 1) or cos is None \
                or x.device.type != "cpu":
            return super().forward(x, cos, sin, past)
        keys, values = past.claim(1)  # refuses a gap, a rewrite and the end of the buffer
        (norm_a, norm_m, qkv, qkv_rows, wo, w13, w13_rows, w2), (eps_a, eps_m, wo_alpha, w2_alpha) = self.step_weights()
        y = load_kernel().decode_block(x.reshape(1, -1), norm_a, eps_a, norm_m, eps_m, qkv, qkv_rows, wo, wo_alpha, w13,
                                       w13_rows, w2, w2_alpha, cos, sin, keys[0], values[0], past.start,
                                       self.attn.wo.act_bits, EPS)
        return y.reshape(x.shape), None

    def step_weights(self) -> tuple[list[torch.Tensor], list[float]]:
        """What the kernel's decoding step reads of this block, in ``DecodeStack``'s order: the tensors
        (attention and MLP norm weights, stacked q/k/v codes and row alphas, output codes, stacked
        gate/up codes and row alphas, down codes) and the scalars (the two norms' eps, the output and
        down layers' alpha)."""
        attn, mlp = self.attn, self.mlp
        qkv, gate_up = attn.qkv[0], mlp.gate_up[0]
        return ([self.attn_norm.weight, self.mlp_norm.weight, qkv.packed, qkv.row_alpha, attn.wo.packed,
                 gate_up.packed, gate_up.row_alpha, mlp.w2.packed],
                [self.attn_norm.eps, self.mlp_norm.eps, attn.wo.alpha, mlp.w2.alpha])


class PackedTransformerLM(DecoderLM):
    """The inference model of a packed checkpoint: the trained model's pass over packed block layers,
    full-precision norms, and the embedding and head in the checkpoint's ``head_dtype``. No dropout.

    Built by :meth:`from_state` (what :func:`load_packed` reads from a file) or :meth:`from_trained`."""

    def __init__(self, arch: ArchConfig, vocab_size: int, role: RoleModel, embed: nn.Module,
                 pos_embed: nn.Embedding | None, blocks: nn.ModuleList, norm: nn.Module, head: nn.Module) -> None:
        super().__init__(arch, vocab_size, role, embed, pos_embed, blocks, norm, head, dropout=0.0)
        self.decode_stack: object | None = None  # the kernel's DecodeStack, built at the first one-call step
        self.one_call = True  # False: one kernel call per block (the profile times both)
        self._stackable = all(isinstance(block, KernelDecodeBlock) for block in blocks)  # fixed at build

    def _one_call_step(self, idx: torch.Tensor, cache: object) -> bool:
        """Whether this step runs as one kernel call through every block: ``one_call`` on, one token of
        batch 1 on the CPU with a :class:`~pipeline.model.transformer.DecodeCache`, rotary positions,
        every block a :class:`KernelDecodeBlock`, in eval mode."""
        return (self.one_call and not self.training and isinstance(cache, DecodeCache) and idx.shape == (1, 1)
                and idx.device.type == "cpu" and self.pos_embed is None and self._stackable)

    def hidden_states(self, idx: torch.Tensor, cache: KVCache | DecodeCache | None = None, start_pos: int = 0
                      ) -> tuple[torch.Tensor, KVCache | DecodeCache]:
        """:meth:`DecoderLM.hidden_states`; a one-token step with a decode cache (:meth:`_one_call_step`)
        runs every block in one call of the kernel's ``DecodeStack`` (each block's ``decode_block``, in
        order: the same numbers as block by block)."""
        if not self._one_call_step(idx, cache):
            return super().hidden_states(idx, cache, start_pos)
        if self.decode_stack is None:
            weights = [block.step_weights() for block in self.blocks]
            self.decode_stack = load_kernel().DecodeStack([t for tensors, _ in weights for t in tensors],
                                                          [float(v) for _, scalars in weights for v in scalars],
                                                          self.blocks[0].attn.wo.act_bits, EPS)
        cache.advance_all(start_pos, 1)  # refuses a gap, a rewrite and the end of the buffer, as claim does
        cos, sin = rotary_tables(self.arch.dim // self.arch.n_heads, torch.arange(start_pos, start_pos + 1))
        y = self.decode_stack.step(self.embed(idx).reshape(1, -1), cos, sin, cache.keys[:, 0], cache.values[:, 0],
                                   start_pos)
        return self.norm(y.reshape(1, 1, -1)), cache

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict, use_kernel: bool = True) -> PackedTransformerLM:
        """The model a packed checkpoint's tensors and metadata describe, in eval mode; it takes the
        tensors over (``tensors`` is emptied; no copies, stored dtypes kept). With ``use_kernel``
        and quantized activations, layers that share an input are stacked, and once the kernel is
        built the norms, the rotation and each one-token decoding step run in it; otherwise one call
        per layer (the paper's conditions: no specialised inference code)."""
        arch, role, vocab_size = ArchConfig(**meta["arch"]), RoleModel(**meta["role"]), meta["vocab_size"]
        stacked = use_kernel and bool(meta["act_bits"])
        kernel = load_kernel() if stacked else None
        layers = _packed_layers(tensors, meta, use_kernel)
        blocks = nn.ModuleList(_packed_block(arch, role, tensors, layers, f"blocks.{i}", stacked, kernel)
                               for i in range(arch.n_layers))
        norm_type = nn.RMSNorm if kernel is None else KernelRMSNorm
        embed = _assigned(lambda: nn.Embedding(vocab_size, arch.dim), tensors, "embed.")
        pos_embed = _assigned(lambda: nn.Embedding(arch.seq_len, arch.dim), tensors, "pos_embed.") \
            if role.positions == "learned" else None
        norm = _assigned(lambda: norm_type(arch.dim, eps=NORM_EPS), tensors, "norm.")
        if meta["head_dtype"] == "int8":
            head = Int8Head(_take(tensors, "head.weight"), _take(tensors, "head.row_scale"),
                            tensors.pop("head.bias", None), use_kernel=use_kernel)
        else:
            head = _assigned(lambda: nn.Linear(arch.dim, vocab_size), tensors, "head.")
        if meta["head_dtype"] == "bf16":
            head = HeadInDtype(head, HEAD_DTYPES[meta["head_dtype"]], use_kernel=use_kernel)
        if EMBED_DTYPES[meta["head_dtype"]] != torch.float32:
            embed = EmbeddingInDtype(embed)
        if tensors or layers:
            raise ValueError(f"unexpected tensors {sorted(tensors) + sorted(layers)}")
        return cls(arch, vocab_size, role, embed, pos_embed, blocks, norm, head).eval()

    @classmethod
    def from_trained(cls, model: TransformerLM, head_dtype: str = "bf16", use_kernel: bool = True
                     ) -> PackedTransformerLM:
        """The model :func:`load_packed` gives for ``model``'s 2-bit checkpoint, without the file;
        it shares no tensor with ``model``."""
        tensors, meta = packed_state(model, "2bit", head_dtype)
        return cls.from_state({name: tensor.clone() for name, tensor in tensors.items()}, meta, use_kernel)


def _take(tensors: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """Remove and return the stored tensor ``name``; a file without it is refused."""
    if name not in tensors:
        raise ValueError(f"missing tensor {name}")
    return tensors.pop(name)


def _assigned(build: Callable[[], nn.Module], tensors: dict[str, torch.Tensor], prefix: str) -> nn.Module:
    """The module ``build`` makes (on the meta device: nothing allocated) holding the stored tensors
    named ``prefix`` + its state names as its own."""
    with torch.device("meta"):
        module = build()
    module.load_state_dict({name: _take(tensors, prefix + name) for name in module.state_dict()}, assign=True)
    return module


def _packed_layers(tensors: dict[str, torch.Tensor], meta: dict, use_kernel: bool) -> dict[str, PackedTernaryLinear]:
    """Every block linear layer of the checkpoint, by name, as 2-bit codes (the kernel reads 2-bit
    codes: another packing is repacked once here)."""
    packing = PACKINGS[meta["packing"]]
    layers = {}
    for name, (_, in_features) in meta["shapes"].items():
        codes = _take(tensors, f"{name}.packed")
        if packing.name != "2bit":
            codes = pack_ternary_2bit(packing.unpack(codes, in_features))
        layers[name] = PackedTernaryLinear(codes, _take(tensors, f"{name}.alpha").item(), in_features,
                                           meta["act_bits"], use_kernel)
    return layers


def _packed_block(arch: ArchConfig, role: RoleModel, tensors: dict[str, torch.Tensor],
                  layers: dict[str, PackedTernaryLinear], prefix: str, stacked: bool, kernel: ModuleType | None
                  ) -> Block:
    """Block ``prefix`` of the packed model, its layers and norms taken from ``layers`` and
    ``tensors``: with ``stacked``, q/k/v and gate/up as one layer each; with the kernel, its norms,
    rotation and one-call decoding step."""
    qkv = [layers.pop(f"{prefix}.attn.{name}") for name in ("wq", "wk", "wv")]
    gate_up = [layers.pop(f"{prefix}.mlp.{name}") for name in ("w1", "w3")]
    if stacked:
        qkv, gate_up = [PackedTernaryLinear.stacked(qkv)], [PackedTernaryLinear.stacked(gate_up)]
    attn = PackedAttention(arch, role.attention == "causal", qkv, layers.pop(f"{prefix}.attn.wo"),
                           apply_rotary if kernel is None else kernel.rotary)
    mlp = PackedSwiGLU(gate_up, layers.pop(f"{prefix}.mlp.w2"))
    norm_type = nn.RMSNorm if kernel is None else KernelRMSNorm
    attn_norm, mlp_norm = (_assigned(lambda: norm_type(arch.dim, eps=NORM_EPS), tensors, f"{prefix}.{name}.")
                           for name in ("attn_norm", "mlp_norm"))
    if kernel is None:
        return Block(attn_norm, attn, mlp_norm, mlp, dropout=0.0)
    return KernelDecodeBlock(attn_norm, attn, mlp_norm, mlp)


def packed_state(model: TransformerLM, packing: str = "2bit", head_dtype: str = "bf16"
                 ) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and metadata of ``model``'s (a ternary TransformerLM) packed checkpoint."""
    if packing not in PACKINGS:
        raise ValueError(f"unknown packing {packing!r}; accepted: {sorted(PACKINGS)}")
    if head_dtype not in HEAD_DTYPES:
        raise ValueError(f"unknown head dtype {head_dtype!r}; accepted: {sorted(HEAD_DTYPES)}")
    layers = model.quant_layers()
    if any(layer.quant != "ternary" for layer in layers.values()):
        raise ValueError("only a ternary model can be packed (model.quant: ternary)")
    tensors: dict[str, torch.Tensor] = {}
    shapes = {}
    for name, layer in layers.items():
        alpha = layer.effective_scale()
        tensors[f"{name}.packed"] = PACKINGS[packing].pack(ternary_codes(layer.weight.detach(), alpha))
        tensors[f"{name}.alpha"] = alpha.reshape(1).float()
        shapes[name] = list(layer.weight.shape)
    quantized = {f"{name}.{suffix}" for name in layers for suffix in ("weight", "scale")}
    if head_dtype == "int8":  # codes and a scale per row; the bias stays fp32 (added to the fp32 logits)
        tensors["head.weight"], tensors["head.row_scale"] = quantize_rows(model.head.weight)
        quantized.add("head.weight")
    for name, tensor in model.state_dict().items():
        if name not in quantized:
            dtype = {"embed": EMBED_DTYPES[head_dtype], "head": HEAD_DTYPES[head_dtype]}.get(name.split(".")[0],
                                                                                           torch.float32)
            tensors[name] = tensor.detach().to(dtype if dtype != torch.int8 else torch.float32).contiguous()
    act_bits = next(iter(layers.values())).act_bits if layers else 0
    meta = {"format": FORMAT, "packing": packing, "head_dtype": head_dtype, "act_bits": act_bits,
            "vocab_size": model.vocab_size, "arch": model.arch.model_dump(), "shapes": shapes,
            "role": model.role.model_dump()}
    return tensors, meta


def export_packed(model: TransformerLM, path: Path, packing: str = "2bit", head_dtype: str = "bf16") -> dict:
    """Write ``model`` (a ternary TransformerLM) as a packed checkpoint; return its metadata."""
    tensors, meta = packed_state(model, packing, head_dtype)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"pipeline_packed": json.dumps(meta, sort_keys=True)})
    return meta


def load_packed(path: Path, use_kernel: bool = True) -> tuple[PackedTransformerLM, dict]:
    """The inference model a packed checkpoint describes (:meth:`PackedTransformerLM.from_state`)
    and the checkpoint's metadata."""
    with safe_open(str(path), framework="pt") as handle:
        header = handle.metadata() or {}
        if "pipeline_packed" not in header:
            raise InputError(f"{path} is not a packed TernaryLM checkpoint (no pipeline_packed header): write one "
                             f"with pipeline.inference.packed.export_packed")
        meta = json.loads(header["pipeline_packed"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    if meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a packed TernaryLM checkpoint (format {meta.get('format')!r})")
    try:
        return PackedTransformerLM.from_state(tensors, meta, use_kernel), meta
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
