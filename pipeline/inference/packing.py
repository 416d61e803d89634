"""Storage formats for ternary weight codes, and the pure-PyTorch matmul on packed weights.

Two packings of a (out, in) matrix of codes in {-1, 0, +1}, both row-major with every row starting
on a byte boundary (so a row can be streamed on its own by a kernel):

* ``2bit``: code + 1 in 2 bits, 4 weights per byte, weight j of a group of 4 at bits 2j..2j+1
  (little end first). 2 bits per weight; trivial to unpack with shifts and masks.
* ``base3``: 5 weights per byte as the base-3 number sum_i (c_i + 1) * 3**i (at most 242 < 256).
  1.6 bits per weight, the densest byte-aligned ternary code; unpacked through a 256 x 5 table.

Rows are padded to a multiple of 4 (resp. 5) with code 0, which contributes nothing to a product.
Adding a packing is a pack and an unpack function plus one entry in ``PACKINGS``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn import functional as F

# Byte values an unpacker will accept: 2-bit fields 0..2 (3 would be the code +2) and base-3 0..242.
_BASE3_MAX_BYTE = 3 ** 5 - 1


def _validate_codes(codes: torch.Tensor) -> torch.Tensor:
    """Check ``codes`` is a 2-D tensor of values in {-1, 0, +1}; return them as int16 in [0, 2].

    Input: any real dtype (int8, float, ...), shape (out, in). Output: codes + 1, int16, same shape.
    Raises ValueError naming the problem otherwise.
    """
    if codes.dim() != 2:
        raise ValueError(f"ternary codes must be a 2-D (out, in) tensor, got shape {tuple(codes.shape)}")
    if codes.is_complex():
        raise ValueError("ternary codes must be real, got a complex tensor")
    valid = (codes == -1) | (codes == 0) | (codes == 1)  # NaN fails every comparison, so it is rejected
    if not bool(valid.all()):
        bad = codes[~valid]
        raise ValueError(f"ternary codes must be in {{-1, 0, +1}}; found {bad.numel()} other value(s), "
                         f"e.g. {bad.flatten()[:5].tolist()}")
    return codes.to(torch.int16) + 1


def _padded_fields(codes: torch.Tensor, per_byte: int) -> torch.Tensor:
    """Validated codes + 1 as int16 of shape (out, ceil(in / per_byte), per_byte), rows padded with code 0."""
    fields = _validate_codes(codes)
    pad = -fields.shape[1] % per_byte
    fields = F.pad(fields, (0, pad), value=1)  # stored value 1 is code 0
    return fields.view(fields.shape[0], -1, per_byte)


def _validate_packed(packed: torch.Tensor, in_features: int, per_byte: int) -> None:
    """Check ``packed`` is uint8 (out, ceil(in_features / per_byte)); raise ValueError otherwise."""
    if packed.dtype != torch.uint8 or packed.dim() != 2:
        raise ValueError(f"packed weights must be a 2-D uint8 tensor, got {packed.dtype} {tuple(packed.shape)}")
    if in_features < 0:
        raise ValueError(f"in_features must be >= 0, got {in_features}")
    expected = -(-in_features // per_byte)
    if packed.shape[1] != expected:
        raise ValueError(f"packed rows hold {packed.shape[1]} bytes, but in_features={in_features} at "
                         f"{per_byte} weights per byte needs {expected}")


def pack_ternary_2bit(codes: torch.Tensor) -> torch.Tensor:
    """Pack ternary codes 4 per byte.

    Input: (out, in) tensor of values in {-1, 0, +1}, any real dtype.
    Output: uint8 (out, ceil(in / 4)); byte k of a row holds weights 4k..4k+3, weight 4k+j as
    code + 1 at bits 2j..2j+1.
    """
    fields = _padded_fields(codes, 4)
    packed = fields[..., 0] | (fields[..., 1] << 2) | (fields[..., 2] << 4) | (fields[..., 3] << 6)
    return packed.to(torch.uint8).contiguous()


def unpack_ternary_2bit(packed: torch.Tensor, in_features: int) -> torch.Tensor:
    """Inverse of :func:`pack_ternary_2bit`.

    Input: uint8 (out, ceil(in_features / 4)). Output: int8 (out, in_features) codes in {-1, 0, +1}.
    Raises ValueError on a 2-bit field of 3, which no ternary code produces.
    """
    _validate_packed(packed, in_features, 4)
    shifts = torch.tensor([0, 2, 4, 6], dtype=torch.uint8, device=packed.device)
    fields = (packed.unsqueeze(-1) >> shifts) & 3  # (out, bytes, 4), weight order within a byte
    if bool((fields == 3).any()):
        raise ValueError("packed 2-bit weights hold the field value 3, which is not a ternary code")
    codes = fields.view(packed.shape[0], -1)[:, :in_features]
    return codes.to(torch.int8) - 1


def pack_ternary_base3(codes: torch.Tensor) -> torch.Tensor:
    """Pack ternary codes 5 per byte in base 3.

    Input: (out, in) tensor of values in {-1, 0, +1}, any real dtype.
    Output: uint8 (out, ceil(in / 5)); byte k of a row is sum_i (c[5k + i] + 1) * 3**i.
    """
    fields = _padded_fields(codes, 5)
    powers = torch.tensor([1, 3, 9, 27, 81], dtype=torch.int16, device=fields.device)
    return (fields * powers).sum(dim=-1).to(torch.uint8).contiguous()


@functools.lru_cache(maxsize=None)
def _base3_table(device: torch.device) -> torch.Tensor:
    """int8 (256, 5): row b holds the 5 codes that byte b encodes (rows 243..255 are never used)."""
    values = torch.arange(256, dtype=torch.int16)
    digits = torch.stack([(values // 3 ** i) % 3 for i in range(5)], dim=-1)
    return (digits - 1).to(torch.int8).to(device)


def unpack_ternary_base3(packed: torch.Tensor, in_features: int) -> torch.Tensor:
    """Inverse of :func:`pack_ternary_base3`, through a 256 x 5 lookup table.

    Input: uint8 (out, ceil(in_features / 5)). Output: int8 (out, in_features) codes in {-1, 0, +1}.
    Raises ValueError on a byte above 242, which no 5 ternary codes produce.
    """
    _validate_packed(packed, in_features, 5)
    if packed.numel() and int(packed.max()) > _BASE3_MAX_BYTE:
        raise ValueError(f"packed base-3 weights hold a byte above {_BASE3_MAX_BYTE}, which is not 5 ternary codes")
    codes = _base3_table(packed.device)[packed.long()]  # (out, bytes, 5)
    return codes.view(packed.shape[0], -1)[:, :in_features]


@dataclass(frozen=True)
class Packing:
    """A storage format for ternary codes: how to pack, how to unpack, and its density."""

    name: str
    pack: Callable[[torch.Tensor], torch.Tensor]  # (out, in) codes -> uint8 (out, bytes per row)
    unpack: Callable[[torch.Tensor, int], torch.Tensor]  # (packed, in_features) -> int8 (out, in)
    weights_per_byte: int

    def packed_bytes(self, out_features: int, in_features: int) -> int:
        """Storage in bytes of an (out, in) matrix: out * ceil(in / weights_per_byte)."""
        return out_features * -(-in_features // self.weights_per_byte)


PACKINGS: dict[str, Packing] = {
    "2bit": Packing("2bit", pack_ternary_2bit, unpack_ternary_2bit, 4),
    "base3": Packing("base3", pack_ternary_base3, unpack_ternary_base3, 5),
}


def ternary_matmul_reference(x: torch.Tensor, packed_2bit: torch.Tensor, in_features: int,
                             scale: float) -> torch.Tensor:
    """Pure-PyTorch y = x @ codes.T * scale on 2-bit packed weights, in float32.

    Inputs: x float (..., in_features) (typically (T, in)); packed_2bit uint8 (out, ceil(in / 4));
    scale the per-tensor weight scale alpha (a float). Output: float32 (..., out).
    """
    if x.shape[-1] != in_features:
        raise ValueError(f"x has {x.shape[-1]} features, the packed weight expects {in_features}")
    codes = unpack_ternary_2bit(packed_2bit, in_features).to(torch.float32)
    return F.linear(x.to(torch.float32), codes) * float(scale)
