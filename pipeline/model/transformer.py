"""The decoder-only transformer of the paper's released notebook, studied model and FP32 twin alike.

Token embedding -> N x [RMSNorm -> causal self-attention with RoPE -> residual;
RMSNorm -> SwiGLU MLP -> residual] -> RMSNorm -> untied linear head with bias.
Every linear layer inside the blocks is a :class:`~pipeline.model.quant.QuantLinear`; the embedding and the
head stay full precision, as in the paper. A :class:`~pipeline.config.RoleModel` says what one
role's model is (quantizer, scale, activation bits, init, masking, positions); the FP32 twin is the
same code with ``quant="fp32"``, so both share every parameter name and shape. Two options exist only
to reproduce the notebook's baseline: attention without the causal mask, and learned absolute
positions instead of rotary ones.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def advance(self, layer: int, start: int, time: int) -> int:
        """Claim positions ``start .. start + time`` of ``layer``; return their end. Refuses a gap or
        a rewrite (``start`` must be the layer's filled length) and the end of the buffer."""
        end = start + time
        if start != self.lengths[layer]:
            raise ValueError(f"layer {layer} holds {self.lengths[layer]} positions; cannot decode position {start}")
        if end > self.keys.shape[3]:
            raise ValueError(f"decoding past the cache's {self.keys.shape[3]} positions")
        self.lengths[layer] = end
        return end

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


FP32_TWIN = RoleModel.resolve("fp32")
PAPER_TERNARY = RoleModel.resolve("ternary", "absmean", 8)  # the paper's quantizer, at the 0.02 init


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


class Attention(nn.Module):
    def __init__(self, arch: ArchConfig, linear: dict, causal: bool = True) -> None:
        super().__init__()
        self.causal = causal
        self.n_heads = arch.n_heads
        self.head_dim = arch.dim // arch.n_heads
        self.dropout = arch.dropout
        self.wq = QuantLinear(arch.dim, arch.dim, **linear)
        self.wk = QuantLinear(arch.dim, arch.dim, **linear)
        self.wv = QuantLinear(arch.dim, arch.dim, **linear)
        self.wo = QuantLinear(arch.dim, arch.dim, **linear)
        # For decoding, pipeline.inference.packed may replace wq, wk and wv by one stacked layer (they share
        # their input, so the activations are quantized once and one matrix call does all three).
        self.wqkv: nn.Module | None = None
        self.rotary = apply_rotary  # pipeline.inference.packed may put the kernel's (same arithmetic) here

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, _ = x.shape
        return x.view(batch, time, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None, sin: torch.Tensor | None,
                past: tuple[torch.Tensor, torch.Tensor] | DecodeSlot | None = None) -> tuple[torch.Tensor, tuple]:
        if self.wqkv is not None:
            q, k, v = (self._heads(part) for part in self.wqkv(x).chunk(3, dim=-1))
        else:
            q, k, v = self._heads(self.wq(x)), self._heads(self.wk(x)), self._heads(self.wv(x))
        if cos is not None:  # rotary positions; with learned positions the embedding carries them
            q, k = self.rotary(q, cos, sin), self.rotary(k, cos, sin)
        # With a cache, decoding is one query at a time, which may see every cached key. Without the
        # causal mask (the notebook's baseline) every position sees the whole sequence, future included.
        if past is not None and q.shape[2] != 1:
            raise ValueError("with a KV cache, feed one token at a time after the prefill")
        if isinstance(past, DecodeSlot):
            k, v = past.extend(k, v)
        elif past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        out = attention(q, k, v, causal=self.causal and past is None, dropout_p=self.dropout if self.training else 0.0)
        batch, _, time, _ = out.shape
        return self.wo(out.transpose(1, 2).reshape(batch, time, -1)), (k, v)


class SwiGLU(nn.Module):
    def __init__(self, arch: ArchConfig, linear: dict) -> None:
        super().__init__()
        hidden = mlp_hidden_size(arch)
        self.w1 = QuantLinear(arch.dim, hidden, **linear)  # gate
        self.w3 = QuantLinear(arch.dim, hidden, **linear)  # up
        self.w2 = QuantLinear(hidden, arch.dim, **linear)  # down
        self.w13: nn.Module | None = None  # gate and up stacked, as Attention.wqkv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.w13 is not None:
            gate, up = self.w13(x).chunk(2, dim=-1)
            return self.w2(F.silu(gate) * up)
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, arch: ArchConfig, linear: dict, causal: bool = True) -> None:
        super().__init__()
        self.attn_norm = nn.RMSNorm(arch.dim, eps=1e-6)
        self.attn = Attention(arch, linear, causal)
        self.mlp_norm = nn.RMSNorm(arch.dim, eps=1e-6)
        self.mlp = SwiGLU(arch, linear)
        self.drop = Dropout(arch.dropout)

    def forward(self, x, cos, sin, past=None):
        attended, present = self.attn(self.attn_norm(x), cos, sin, past)
        x = x + self.drop(attended)
        x = x + self.drop(self.mlp(self.mlp_norm(x)))
        return x, present


class TransformerLM(nn.Module):
    """Causal language model; ``forward`` returns logits of shape (batch, time, vocab)."""

    def __init__(self, arch: ArchConfig, vocab_size: int, role: RoleModel = FP32_TWIN) -> None:
        super().__init__()
        self.arch = arch
        self.vocab_size = vocab_size
        self.role = role
        linear = dict(quant=role.quant, scale=role.scale or "absmean", act_bits=role.act_bits)
        causal = role.attention == "causal"
        self.embed = nn.Embedding(vocab_size, arch.dim)
        # Learned absolute positions (the notebook's baseline) cover seq_len positions.
        self.pos_embed = nn.Embedding(arch.seq_len, arch.dim) if role.positions == "learned" else None
        self.drop = Dropout(arch.dropout)
        self.blocks = nn.ModuleList(Block(arch, linear, causal) for _ in range(arch.n_layers))
        self.norm = nn.RMSNorm(arch.dim, eps=1e-6)
        self.head = nn.Linear(arch.dim, vocab_size, bias=True)  # untied, with bias, full precision
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


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
