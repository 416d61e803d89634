"""The decoder-only transformer of the paper's released notebook, studied model and FP32 twin alike.

Token embedding -> N x [RMSNorm -> causal self-attention with RoPE -> residual;
RMSNorm -> SwiGLU MLP -> residual] -> RMSNorm -> untied linear head with bias.
Every linear layer inside the blocks is a :class:`~pipeline.model.quant.QuantLinear`; the embedding and the
head stay full precision, as in the paper. A :class:`~pipeline.config.RoleModel` says what one
role's model is (quantizer, scale, activation bits, init, masking, positions); the FP32 twin is the
same code with ``quant="fp32"``, so both share every parameter name and shape. Two options exist only
to reproduce the notebook's baseline: attention without the causal mask, and learned absolute
positions instead of rotary ones.

:class:`DecoderLM` is the pass itself over modules handed to it (embedding, blocks, norm, head), and
:class:`Block` one block over its norms, attention and MLP: :class:`TransformerLM` builds them from
quantization-aware layers for training, the packed inference model
(:mod:`pipeline.inference.packed`) from packed ones, so both run the same residual stream, positions
and KV cache. :func:`attend` is the attention step both models' attention layers share.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from pipeline.config import ArchConfig, RoleModel
from pipeline.model.dropout import Dropout, attention
from pipeline.model.quant import QuantLinear

KVCache = list[tuple[torch.Tensor, torch.Tensor]]


class DecodeCache:
    """Keys and values preallocated for decoding up to ``max_len`` positions, filled from a prefill's
    :data:`KVCache`. Each step writes its one new row per layer in place and attends over the filled
    prefix; extending a :data:`KVCache` instead concatenates, which copies every layer's whole cache
    on every token. Positions are filled in order, layer by layer (``lengths``)."""

    def __init__(self, prefill: KVCache, max_len: int) -> None:
        first = prefill[0][0]
        batch, heads, filled, head_dim = first.shape
        if max_len < filled:
            raise ValueError(f"max_len {max_len} is shorter than the prefill ({filled} positions)")
        self.keys = first.new_zeros(len(prefill), batch, heads, max_len, head_dim)
        self.values = torch.zeros_like(self.keys)
        for layer, (k, v) in enumerate(prefill):
            self.keys[layer, :, :, :filled], self.values[layer, :, :, :filled] = k, v
        self.lengths = [filled] * len(prefill)

    def _end(self, layer: int, start: int, time: int) -> int:
        """The end of positions ``start .. start + time`` of ``layer``, refusing a gap or a rewrite
        (``start`` must be the layer's filled length) and the end of the buffer."""
        if start != self.lengths[layer]:
            raise ValueError(f"layer {layer} holds {self.lengths[layer]} positions; cannot decode position {start}")
        if start + time > self.keys.shape[3]:
            raise ValueError(f"decoding past the cache's {self.keys.shape[3]} positions")
        return start + time

    def advance(self, layer: int, start: int, time: int) -> int:
        """Claim positions ``start .. start + time`` of ``layer``; return their end (checked by :meth:`_end`)."""
        self.lengths[layer] = self._end(layer, start, time)
        return self.lengths[layer]

    def advance_all(self, start: int, time: int) -> int:
        """:meth:`advance` for every layer at once (a step that writes every layer's rows itself),
        every layer checked before any is moved."""
        ends = [self._end(layer, start, time) for layer in range(len(self.lengths))]
        self.lengths = ends
        return start + time

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Write ``k``, ``v`` (batch, heads, time, head_dim) at ``start`` for ``layer``; return the keys
        and values of positions 0 .. start + time (views, no copy)."""
        end = self.advance(layer, start, k.shape[2])
        self.keys[layer, :, :, start:end], self.values[layer, :, :, start:end] = k, v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]


@dataclass(frozen=True)
class DecodeSlot:
    """What one layer's attention receives for a step with a :class:`DecodeCache`: the cache, the
    layer's index and the step's first position."""

    cache: DecodeCache
    layer: int
    start: int

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cache.extend(self.layer, k, v, self.start)

    def claim(self, time: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Claim this step's ``time`` positions (refusing a gap, a rewrite and the end of the buffer)
        and return the layer's whole key and value buffers (batch, heads, max_len, head_dim), for a
        step that writes its rows itself (the C++ kernel's one-call decoding step)."""
        self.cache.advance(self.layer, self.start, time)
        return self.cache.keys[self.layer], self.cache.values[self.layer]


FP32_TWIN = RoleModel.resolve("fp32")
PAPER_TERNARY = RoleModel.resolve("ternary", "absmean", 8)  # the paper's quantizer, at the 0.02 init
NORM_EPS = 1e-6  # every RMSNorm's epsilon
Past = tuple[torch.Tensor, torch.Tensor] | DecodeSlot | None  # what one layer's attention gets of the cache


def mlp_hidden_size(arch: ArchConfig) -> int:
    """SwiGLU hidden width as the notebook computes it: int(dim * 2.67) = 2050 at dim 768."""
    return int(arch.dim * arch.mlp_ratio)


def rotary_tables(head_dim: int, positions: torch.Tensor, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of shape (len(positions), head_dim / 2) for rotary position embeddings."""
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim)
    angles = positions.float()[:, None] * inv_freq[None, :]
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (x[..., :d/2], x[..., d/2:]) of x: (batch, heads, time, head_dim)."""
    first, second = x.chunk(2, dim=-1)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat((first * cos - second * sin, first * sin + second * cos), dim=-1)


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(batch, time, dim) -> (batch, heads, time, dim / heads), a view."""
    batch, time, dim = x.shape
    return x.view(batch, time, n_heads, dim // n_heads).transpose(1, 2)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, past: Past, causal: bool, dropout_p: float
           ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Attention of rotated heads (batch, heads, time, head_dim) over the cache and themselves:
    the merged heads (batch, time, dim) before the output projection, and the keys and values
    attended over (the layer's cache after this step).

    With a cache, decoding is one query at a time, which may see every cached key. Without the
    causal mask (the notebook's baseline) every position sees the whole sequence, future included."""
    if past is not None and q.shape[2] != 1:
        raise ValueError("with a KV cache, feed one token at a time after the prefill")
    if isinstance(past, DecodeSlot):
        k, v = past.extend(k, v)
    elif past is not None:
        k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
    out = attention(q, k, v, causal=causal and past is None, dropout_p=dropout_p)
    batch, _, time, _ = out.shape
    return out.transpose(1, 2).reshape(batch, time, -1), (k, v)


class Attention(nn.Module):
    """Multi-head self-attention with rotary positions over quantization-aware projections."""

    def __init__(self, arch: ArchConfig, linear: dict, causal: bool = True) -> None:
        super().__init__()
        self.causal = causal
        self.n_heads = arch.n_heads
        self.dropout = arch.dropout
        self.wq = QuantLinear(arch.dim, arch.dim, **linear)
        self.wk = QuantLinear(arch.dim, arch.dim, **linear)
        self.wv = QuantLinear(arch.dim, arch.dim, **linear)
        self.wo = QuantLinear(arch.dim, arch.dim, **linear)

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None, sin: torch.Tensor | None,
                past: Past = None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        q, k, v = (split_heads(layer(x), self.n_heads) for layer in (self.wq, self.wk, self.wv))
        if cos is not None:  # rotary positions; with learned positions the embedding carries them
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        out, present = attend(q, k, v, past, self.causal, self.dropout if self.training else 0.0)
        return self.wo(out), present


class SwiGLU(nn.Module):
    """w2(silu(w1(x)) * w3(x)) over quantization-aware layers."""

    def __init__(self, arch: ArchConfig, linear: dict) -> None:
        super().__init__()
        hidden = mlp_hidden_size(arch)
        self.w1 = QuantLinear(arch.dim, hidden, **linear)  # gate
        self.w3 = QuantLinear(arch.dim, hidden, **linear)  # up
        self.w2 = QuantLinear(hidden, arch.dim, **linear)  # down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    """Pre-norm residual block over the modules it is given: ``attn`` takes (normed x, cos, sin,
    past) and returns (output, present); ``mlp`` maps normed x to its output. ``dropout`` applies to
    both branches while training."""

    def __init__(self, attn_norm: nn.Module, attn: nn.Module, mlp_norm: nn.Module, mlp: nn.Module,
                 dropout: float) -> None:
        super().__init__()
        self.attn_norm, self.attn, self.mlp_norm, self.mlp = attn_norm, attn, mlp_norm, mlp
        self.drop = Dropout(dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None, sin: torch.Tensor | None, past: Past = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        attended, present = self.attn(self.attn_norm(x), cos, sin, past)
        x = x + self.drop(attended)
        x = x + self.drop(self.mlp(self.mlp_norm(x)))
        return x, present


class DecoderLM(nn.Module):
    """Causal language model over the modules it is given; ``forward`` returns logits of shape
    (batch, time, vocab). ``pos_embed`` holds learned absolute positions (None: rotary ones);
    ``blocks`` are :class:`Block` (or behave as one); ``dropout`` applies to the embedding while
    training. ``role`` says how the model was trained (masking and positions are read here)."""

    def __init__(self, arch: ArchConfig, vocab_size: int, role: RoleModel, embed: nn.Module,
                 pos_embed: nn.Module | None, blocks: nn.ModuleList, norm: nn.Module, head: nn.Module,
                 dropout: float) -> None:
        super().__init__()
        self.arch, self.vocab_size, self.role = arch, vocab_size, role
        self.embed, self.pos_embed = embed, pos_embed
        self.drop = Dropout(dropout)
        self.blocks, self.norm, self.head = blocks, norm, head

    def hidden_states(self, idx: torch.Tensor, cache: KVCache | DecodeCache | None = None, start_pos: int = 0
                      ) -> tuple[torch.Tensor, KVCache | DecodeCache]:
        """Final-norm hidden states (batch, time, dim) and the updated KV cache (a
        :class:`DecodeCache` is updated in place and returned)."""
        if cache is not None and self.role.attention != "causal":
            raise ValueError("a model without the causal mask cannot decode with a KV cache")
        positions = torch.arange(start_pos, start_pos + idx.shape[1], device=idx.device)
        x = self.embed(idx)
        if self.pos_embed is None:
            cos, sin = rotary_tables(self.arch.dim // self.arch.n_heads, positions)
        else:
            cos = sin = None
            x = x + self.pos_embed(positions)
        x = self.drop(x)
        present: KVCache = []
        for i, block in enumerate(self.blocks):
            if isinstance(cache, DecodeCache):
                past = DecodeSlot(cache, i, start_pos)
            else:
                past = None if cache is None else cache[i]
            x, layer_cache = block(x, cos, sin, past)
            present.append(layer_cache)
        if isinstance(cache, DecodeCache):
            return self.norm(x), cache  # updated in place
        return self.norm(x), present

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden_states(idx)[0])

    def forward_cached(self, idx: torch.Tensor, cache: KVCache | DecodeCache | None = None, start_pos: int = 0
                       ) -> tuple[torch.Tensor, KVCache | DecodeCache]:
        """Logits for ``idx`` given the cache of the ``start_pos`` tokens before it."""
        hidden, present = self.hidden_states(idx, cache, start_pos)
        return self.head(hidden), present


class TransformerLM(DecoderLM):
    """The trained model: quantization-aware block layers as ``role`` says, full-precision embedding
    and head, initialised as the notebook does."""

    def __init__(self, arch: ArchConfig, vocab_size: int, role: RoleModel = FP32_TWIN) -> None:
        linear = dict(quant=role.quant, scale=role.scale or "absmean", act_bits=role.act_bits)
        causal = role.attention == "causal"
        embed = nn.Embedding(vocab_size, arch.dim)
        # Learned absolute positions (the notebook's baseline) cover seq_len positions.
        pos_embed = nn.Embedding(arch.seq_len, arch.dim) if role.positions == "learned" else None
        blocks = nn.ModuleList(Block(nn.RMSNorm(arch.dim, eps=NORM_EPS), Attention(arch, linear, causal),
                                     nn.RMSNorm(arch.dim, eps=NORM_EPS), SwiGLU(arch, linear), arch.dropout)
                               for _ in range(arch.n_layers))
        super().__init__(arch, vocab_size, role, embed, pos_embed, blocks, nn.RMSNorm(arch.dim, eps=NORM_EPS),
                         nn.Linear(arch.dim, vocab_size, bias=True),  # untied, with bias, full precision
                         arch.dropout)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.embed.weight, std=0.02)
        if self.pos_embed is not None:
            nn.init.normal_(self.pos_embed.weight, std=0.02)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)
        for layer in self.quant_layers().values():
            nn.init.normal_(layer.weight, std=self.role.init_std)
            layer.reset_scale()

    def quant_layers(self) -> dict[str, QuantLinear]:
        """Every linear layer inside the blocks, by qualified name (e.g. ``blocks.3.mlp.w1``)."""
        return {name: module for name, module in self.named_modules() if isinstance(module, QuantLinear)}


def greedy_decode(model: DecoderLM, logits: torch.Tensor, cache: KVCache, start: int, n_tokens: int) -> torch.Tensor:
    """Greedy decoding of ``n_tokens`` after a prefill (its last logits and KV cache), batch 1.

    Decoding writes into a :class:`DecodeCache` filled from the prefill's cache, which itself is not
    modified, so one prefill serves every timed repeat.
    """
    cache = DecodeCache(cache, start + n_tokens)
    generated = []
    next_id = logits[:, -1].argmax(dim=-1, keepdim=True)
    for position in range(start, start + n_tokens):
        generated.append(next_id)
        logits, cache = model.forward_cached(next_id, cache, position)
        next_id = logits[:, -1].argmax(dim=-1, keepdim=True)
    return torch.cat(generated, dim=1)


def count_parameters(model: nn.Module) -> int:
    """Parameters of ``model`` (each shared one once): the paper's size figure."""
    return sum(p.numel() for p in model.parameters())


def state_bytes(module: nn.Module) -> int:
    """Exact bytes of every tensor in ``module.state_dict()`` (what a model keeps resident for
    inference), the packed parameters of PyTorch's quantized layers included."""

    def size(value: object) -> int:
        if isinstance(value, torch.Tensor):
            return value.numel() * value.element_size()
        if isinstance(value, (tuple, list)):
            return sum(size(item) for item in value)
        return 0

    return sum(size(value) for value in module.state_dict().values())


@contextmanager
def causal_mask_imposed(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with the causal mask on in every attention layer for the duration (the leak probe):
    a model trained without the mask that learned to copy the next token loses that token here, so
    its loss rises by what the leak was worth. A causal model is unchanged."""
    layers = [module for module in model.modules() if isinstance(module, Attention)]
    before = [layer.causal for layer in layers]
    for layer in layers:
        layer.causal = True
    try:
        yield model
    finally:
        for layer, causal in zip(layers, before):
            layer.causal = causal


def code_change_fraction(model: TransformerLM, initial: TransformerLM) -> float:
    """The share of ternary codes (every block linear, weighted by weight count) that differ from the
    codes the same run had at initialisation: whether training moved the weights at all, which a
    sparsity figure needs before it can say anything about training."""
    changed = total = 0
    initial_layers = initial.quant_layers()
    for name, layer in model.quant_layers().items():
        changed += int((layer.codes() != initial_layers[name].codes()).sum())
        total += layer.weight.numel()
    return changed / total
