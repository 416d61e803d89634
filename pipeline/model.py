"""The decoder-only transformer of the paper's released notebook, studied model and FP32 twin alike.

Token embedding -> N x [RMSNorm -> causal self-attention with RoPE -> residual;
RMSNorm -> SwiGLU MLP -> residual] -> RMSNorm -> untied linear head with bias.
Every linear layer inside the blocks is a :class:`~pipeline.quant.QuantLinear`; the embedding and the
head stay full precision, as in the paper. With ``quant="fp32"`` the same code builds the FP32 twin,
so both share every parameter name and shape.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pipeline.config import ArchConfig, ModelConfig
from pipeline.quant import QuantLinear

KVCache = list[tuple[torch.Tensor, torch.Tensor]]


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
    def __init__(self, arch: ArchConfig, linear: dict) -> None:
        super().__init__()
        self.n_heads = arch.n_heads
        self.head_dim = arch.dim // arch.n_heads
        self.dropout = arch.dropout
        self.wq = QuantLinear(arch.dim, arch.dim, **linear)
        self.wk = QuantLinear(arch.dim, arch.dim, **linear)
        self.wv = QuantLinear(arch.dim, arch.dim, **linear)
        self.wo = QuantLinear(arch.dim, arch.dim, **linear)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, _ = x.shape
        return x.view(batch, time, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                past: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, tuple]:
        q = apply_rotary(self._heads(self.wq(x)), cos, sin)
        k = apply_rotary(self._heads(self.wk(x)), cos, sin)
        v = self._heads(self.wv(x))
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        # Causal always (the notebook's baseline lacked the mask; ours never does). With a cache,
        # decoding is one query at a time, which may see every cached key.
        if past is not None and q.shape[2] != 1:
            raise ValueError("with a KV cache, feed one token at a time after the prefill")
        out = F.scaled_dot_product_attention(q, k, v, is_causal=past is None,
                                             dropout_p=self.dropout if self.training else 0.0)
        batch, _, time, _ = out.shape
        return self.wo(out.transpose(1, 2).reshape(batch, time, -1)), (k, v)


class SwiGLU(nn.Module):
    def __init__(self, arch: ArchConfig, linear: dict) -> None:
        super().__init__()
        hidden = mlp_hidden_size(arch)
        self.w1 = QuantLinear(arch.dim, hidden, **linear)  # gate
        self.w3 = QuantLinear(arch.dim, hidden, **linear)  # up
        self.w2 = QuantLinear(hidden, arch.dim, **linear)  # down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, arch: ArchConfig, linear: dict) -> None:
        super().__init__()
        self.attn_norm = nn.RMSNorm(arch.dim, eps=1e-6)
        self.attn = Attention(arch, linear)
        self.mlp_norm = nn.RMSNorm(arch.dim, eps=1e-6)
        self.mlp = SwiGLU(arch, linear)
        self.drop = nn.Dropout(arch.dropout)

    def forward(self, x, cos, sin, past=None):
        attended, present = self.attn(self.attn_norm(x), cos, sin, past)
        x = x + self.drop(attended)
        x = x + self.drop(self.mlp(self.mlp_norm(x)))
        return x, present


class TransformerLM(nn.Module):
    """Causal language model; ``forward`` returns logits of shape (batch, time, vocab)."""

    def __init__(self, arch: ArchConfig, vocab_size: int, quant: str = "fp32", scale: str = "absmean",
                 act_bits: int = 0) -> None:
        super().__init__()
        self.arch = arch
        self.vocab_size = vocab_size
        linear = dict(quant=quant, scale=scale, act_bits=act_bits)
        self.embed = nn.Embedding(vocab_size, arch.dim)
        self.drop = nn.Dropout(arch.dropout)
        self.blocks = nn.ModuleList(Block(arch, linear) for _ in range(arch.n_layers))
        self.norm = nn.RMSNorm(arch.dim, eps=1e-6)
        self.head = nn.Linear(arch.dim, vocab_size, bias=True)  # untied, with bias, full precision
        self._init_weights()

    @classmethod
    def from_config(cls, model: ModelConfig, vocab_size: int, quant: str | None = None) -> "TransformerLM":
        """Build the studied model, or with ``quant="fp32"`` its FP32 twin of identical architecture."""
        quant = model.quant if quant is None else quant
        return cls(model.arch, vocab_size, quant=quant, scale=model.scale, act_bits=model.act_bits)

    def _init_weights(self) -> None:
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)
        for layer in self.quant_layers().values():
            nn.init.normal_(layer.weight, std=self.arch.block_init_std)
            layer.reset_scale()

    def quant_layers(self) -> dict[str, QuantLinear]:
        """Every linear layer inside the blocks, by qualified name (e.g. ``blocks.3.mlp.w1``)."""
        return {name: module for name, module in self.named_modules() if isinstance(module, QuantLinear)}

    def hidden_states(self, idx: torch.Tensor, cache: KVCache | None = None, start_pos: int = 0
                      ) -> tuple[torch.Tensor, KVCache]:
        """Final-norm hidden states (batch, time, dim) and the updated KV cache."""
        positions = torch.arange(start_pos, start_pos + idx.shape[1], device=idx.device)
        cos, sin = rotary_tables(self.arch.dim // self.arch.n_heads, positions)
        x = self.drop(self.embed(idx))
        present: KVCache = []
        for i, block in enumerate(self.blocks):
            x, layer_cache = block(x, cos, sin, None if cache is None else cache[i])
            present.append(layer_cache)
        return self.norm(x), present

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden_states(idx)[0])

    def forward_cached(self, idx: torch.Tensor, cache: KVCache | None = None, start_pos: int = 0
                       ) -> tuple[torch.Tensor, KVCache]:
        """Logits for ``idx`` given the cache of the ``start_pos`` tokens before it."""
        hidden, present = self.hidden_states(idx, cache, start_pos)
        return self.head(hidden), present


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
