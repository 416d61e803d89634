"""Packed ternary inference: a checkpoint that really holds ~2 (or 1.6) bits per ternary weight, and
a model that computes from the packed weights.

On disk (safetensors, metadata ``format: ternarylm-packed``): every block linear layer as its
ternary codes packed by ``pipeline.inference.packing`` (``2bit`` or ``base3``) plus one fp32 scale alpha;
embedding and head in ``head_dtype`` (fp32 or bf16); norms in fp32. In memory every block layer is
held as 2-bit codes (a base-3 file is repacked at load: 1.6 bits on disk, 2 bits resident) and
multiplied by the C++ kernel (``pipeline.inference.kernels``) with int8 per-token activations, the same
arithmetic the training model fake-quantizes; without the kernel, the pure-PyTorch path.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from pipeline.errors import InputError
from pipeline.config import ArchConfig, RoleModel
from pipeline.io import atomic_path
from pipeline.inference.kernels import load_kernel, ternary_linear
from pipeline.model.transformer import DecodeCache, DecodeSlot, TransformerLM
from pipeline.inference.packing import PACKINGS, pack_ternary_2bit
from pipeline.model.quant import EPS, ternary_codes

FORMAT = "ternarylm-packed"
HEAD_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


class PackedTernaryLinear(nn.Module):
    """y = alpha * (int8(x) @ codes.T) * x_scale, from 2-bit packed codes (inference only).

    ``alpha`` is the layer's per-tensor scale, or (for layers stacked by :meth:`stacked`) a float32
    vector of one alpha per output row."""

    def __init__(self, packed: torch.Tensor, alpha: float | torch.Tensor, in_features: int, act_bits: int,
                 use_kernel: bool = True):
        super().__init__()
        self.register_buffer("packed", packed.contiguous())
        if isinstance(alpha, torch.Tensor):
            self.register_buffer("row_alpha", alpha.to(torch.float32).contiguous())
            self.alpha = None
        else:
            self.row_alpha, self.alpha = None, float(alpha)
        self.in_features, self.act_bits, self.use_kernel = in_features, act_bits, use_kernel
        self.out_features = packed.shape[0]

    @classmethod
    def stacked(cls, layers: list["PackedTernaryLinear"]) -> "PackedTernaryLinear":
        """One layer computing ``torch.cat([layer(x) for layer in layers], -1)`` in one call: exactly,
        since activations are quantized per token whatever the weight."""
        first = layers[0]
        if any((layer.in_features, layer.act_bits) != (first.in_features, first.act_bits) for layer in layers):
            raise ValueError("only layers with the same input width and activation bits can be stacked")
        rows = torch.cat([layer.row_alpha if layer.row_alpha is not None else torch.full((layer.out_features,), layer.alpha)
                          for layer in layers])
        return cls(torch.cat([layer.packed for layer in layers]), rows, first.in_features, first.act_bits,
                   first.use_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.row_alpha if self.row_alpha is not None else self.alpha
        if not self.act_bits:  # full-precision activations: no integer path, unpack and multiply
            from pipeline.inference.packing import ternary_matmul_reference

            if self.row_alpha is not None:
                return (ternary_matmul_reference(x, self.packed, self.in_features, 1.0) * self.row_alpha).to(x.dtype)
            return ternary_matmul_reference(x, self.packed, self.in_features, self.alpha).to(x.dtype)
        return ternary_linear(x, self.packed, self.in_features, scale, self.act_bits,
                              use_kernel=self.use_kernel).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, act_bits={self.act_bits}, 2-bit packed"


class KernelRMSNorm(nn.Module):
    """``nn.RMSNorm`` computed by the C++ kernel in one call (decoding dispatches ~25 norms per token)."""

    def __init__(self, norm: nn.RMSNorm) -> None:
        super().__init__()
        self.weight, self.eps = norm.weight, norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return load_kernel().rms_norm(x, self.weight, self.eps)


def use_kernel_elementwise(model: TransformerLM) -> None:
    """Norms and the rotary rotation through the kernel (same formulas, fp32; agree to rounding)."""
    kernel = load_kernel()
    if kernel is None:
        return
    for block in model.blocks:
        block.attn_norm, block.mlp_norm = KernelRMSNorm(block.attn_norm), KernelRMSNorm(block.mlp_norm)
        block.attn.rotary = kernel.rotary
    model.norm = KernelRMSNorm(model.norm)


def stack_shared_inputs(model: TransformerLM) -> None:
    """Replace each block's q, k, v (and gate, up) packed layers by one stacked layer each."""
    for block in model.blocks:
        attn, mlp = block.attn, block.mlp
        attn.wqkv = PackedTernaryLinear.stacked([attn.wq, attn.wk, attn.wv])
        del attn.wq, attn.wk, attn.wv
        mlp.w13 = PackedTernaryLinear.stacked([mlp.w1, mlp.w3])
        del mlp.w1, mlp.w3


class KernelDecodeBlock(nn.Module):
    """A block (``inner``) whose one-token decoding step with a :class:`~pipeline.model.transformer.DecodeCache`
    runs as one C++ call (``decode_block``: the same layer functions, single-query attention over the
    cache written in place); the prefill and every other call run the block itself. Needs the block
    as :func:`stack_shared_inputs` and :func:`use_kernel_elementwise` leave it."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.inner = block

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None, sin: torch.Tensor | None, past=None):
        if self.training or not isinstance(past, DecodeSlot) or x.shape[:2] != (1, 1) or cos is None \
                or x.device.type != "cpu":
            return self.inner(x, cos, sin, past)
        block, cache = self.inner, past.cache
        attn, mlp = block.attn, block.mlp
        cache.advance(past.layer, past.start, 1)  # refuses a gap, a rewrite and the end of the buffer
        y = load_kernel().decode_block(
            x.reshape(1, -1), block.attn_norm.weight, block.attn_norm.eps, block.mlp_norm.weight, block.mlp_norm.eps,
            attn.wqkv.packed, attn.wqkv.row_alpha, attn.wo.packed, attn.wo.alpha, mlp.w13.packed, mlp.w13.row_alpha,
            mlp.w2.packed, mlp.w2.alpha, cos, sin, cache.keys[past.layer, 0], cache.values[past.layer, 0], past.start,
            attn.wo.act_bits, EPS)
        return y.reshape(x.shape), None


def use_kernel_blocks(model: TransformerLM) -> None:
    """Wrap every block in :class:`KernelDecodeBlock` (after :func:`stack_shared_inputs` and
    :func:`use_kernel_elementwise`)."""
    if load_kernel() is not None:
        model.blocks = nn.ModuleList(KernelDecodeBlock(block) for block in model.blocks)


class EmbeddingInDtype(nn.Module):
    """The token embedding held in a narrower dtype; looks up rows and returns them as float32."""

    def __init__(self, embed: nn.Embedding):
        super().__init__()
        self.inner = embed

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.inner(ids).float()


class HeadInDtype(nn.Module):
    """The output head held in a narrower dtype (bf16) and computed in it, returning float32 logits.

    With ``use_kernel`` on the CPU, the C++ kernel's bf16 GEMV runs (activations rounded to bf16,
    fp32 sums and logits, bias kept in fp32); otherwise torch's bf16 linear (which also rounds the
    logits to bf16)."""

    def __init__(self, head: nn.Linear, dtype: torch.dtype, use_kernel: bool = False):
        super().__init__()
        self.inner = head.to(dtype)
        self.use_kernel = use_kernel and dtype == torch.bfloat16
        if self.use_kernel:  # the kernel adds an fp32 bias (4 bytes per logit)
            self.register_buffer("bias32", head.bias.detach().float().clone() if head.bias is not None
                                 else torch.zeros(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = load_kernel() if self.use_kernel and x.device.type == "cpu" else None
        if kernel is not None:
            flat = x.reshape(-1, x.shape[-1]).to(torch.float32)
            return kernel.bf16_linear(flat, self.inner.weight, self.bias32).reshape(*x.shape[:-1], -1)
        return self.inner(x.to(self.inner.weight.dtype)).float()


def export_packed(model: TransformerLM, path: Path, packing: str = "2bit", head_dtype: str = "bf16") -> dict:
    """Write ``model`` (a ternary TransformerLM) as a packed checkpoint; return its metadata."""
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
    for name, tensor in model.state_dict().items():
        if name not in quantized:
            wide = name.startswith(("embed.", "head."))
            tensors[name] = tensor.detach().to(HEAD_DTYPES[head_dtype] if wide else torch.float32).contiguous()
    act_bits = next(iter(layers.values())).act_bits if layers else 0
    meta = {"format": FORMAT, "packing": packing, "head_dtype": head_dtype, "act_bits": act_bits,
            "vocab_size": model.vocab_size, "arch": model.arch.model_dump(), "shapes": shapes,
            "role": model.role.model_dump()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"pipeline_packed": json.dumps(meta, sort_keys=True)})
    return meta


def load_packed(path: Path, use_kernel: bool = True) -> tuple[TransformerLM, dict]:
    """The inference model a packed checkpoint describes, computing from its packed weights. With
    the kernel, layers that share an input are stacked (:func:`stack_shared_inputs`); the pure-PyTorch
    path keeps one call per layer (the paper's conditions: no specialised inference code)."""
    with safe_open(str(path), framework="pt") as handle:
        header = handle.metadata() or {}
        if "pipeline_packed" not in header:
            raise InputError(f"{path} is not a packed TernaryLM checkpoint (no pipeline_packed header): write one "
                             f"with pipeline.inference.packed.export_packed")
        meta = json.loads(header["pipeline_packed"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    if meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a packed TernaryLM checkpoint (format {meta.get('format')!r})")
    role = RoleModel(**meta["role"])
    # The skeleton's block layers are replaced by packed ones below; masking and positions are the
    # trained model's.
    skeleton = RoleModel.resolve("fp32", init_std=role.init_std, attention=role.attention, positions=role.positions)
    with torch.device("meta"):  # a skeleton: no weight is allocated until a stored tensor is assigned
        model = TransformerLM(ArchConfig(**meta["arch"]), meta["vocab_size"], skeleton)
    packing = PACKINGS[meta["packing"]]
    packed_layers = {}
    for name, (_, in_features) in meta["shapes"].items():
        codes_packed = tensors.pop(f"{name}.packed")
        if packing.name != "2bit":  # the kernel reads 2-bit codes: repack once at load
            codes_packed = pack_ternary_2bit(packing.unpack(codes_packed, in_features))
        packed_layers[name] = PackedTernaryLinear(codes_packed, tensors.pop(f"{name}.alpha").item(), in_features,
                                                  meta["act_bits"], use_kernel)
    for name, layer in packed_layers.items():
        parent, child = name.rsplit(".", 1)
        setattr(model.get_submodule(parent), child, layer)
    # assign=True: the stored tensors become the parameters (in their stored dtype), no copies.
    missing, unexpected = model.load_state_dict(tensors, strict=False, assign=True)
    if unexpected or [key for key in missing if not key.endswith(".packed")]:
        raise ValueError(f"{path}: unexpected tensors {unexpected}, missing {missing}")
    if meta["head_dtype"] != "fp32":
        model.embed = EmbeddingInDtype(model.embed)
        model.head = HeadInDtype(model.head, HEAD_DTYPES[meta["head_dtype"]], use_kernel=use_kernel)
    if use_kernel and meta["act_bits"]:
        stack_shared_inputs(model)
        use_kernel_elementwise(model)
        use_kernel_blocks(model)
    return model.eval(), meta


def greedy_decode(model: TransformerLM, logits: torch.Tensor, cache, start: int, n_tokens: int) -> torch.Tensor:
    """Greedy decoding of ``n_tokens`` after a prefill (its last logits and KV cache), batch 1.

    Decoding writes into a :class:`~pipeline.model.transformer.DecodeCache` filled from the prefill's cache, which
    itself is not modified, so one prefill serves every timed repeat.
    """
    cache = DecodeCache(cache, start + n_tokens)
    generated = []
    next_id = logits[:, -1].argmax(dim=-1, keepdim=True)
    for position in range(start, start + n_tokens):
        generated.append(next_id)
        logits, cache = model.forward_cached(next_id, cache, position)
        next_id = logits[:, -1].argmax(dim=-1, keepdim=True)
    return torch.cat(generated, dim=1)


def resident_weight_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer the model holds (what inference keeps in memory)."""
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
