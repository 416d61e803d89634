import math

import pytest
import torch

from pipeline.inference.kernels import load_kernel, quantize_activations, ternary_linear
from pipeline.inference.packing import (PACKINGS, pack_ternary_2bit, pack_ternary_base3, ternary_matmul_reference,
                              unpack_ternary_2bit, unpack_ternary_base3)
from pipeline.model.quant import fake_quantize_activations

# Odd shapes on purpose: in_features not a multiple of 4 or 5, single elements, the model's MLP sizes.
SHAPES = [(1, 1), (3, 7), (4, 20), (2, 9), (3, 11), (5, 2050), (2050, 768), (768, 2050)]


def random_codes(shape: tuple[int, int], seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(-1, 2, shape, generator=generator, dtype=torch.int8)


@pytest.fixture(scope="module")
def kernel():
    module = load_kernel()
    if module is None:
        pytest.skip("load_kernel() returned None: the C++ build failed (see its RuntimeWarning) "
                    "or TERNARYLM_DISABLE_KERNEL is set")
    return module


@pytest.mark.parametrize("name", sorted(PACKINGS))
@pytest.mark.parametrize("shape", SHAPES)
def test_round_trip_and_storage_size(name, shape):
    packing = PACKINGS[name]
    codes = random_codes(shape)
    packed = packing.pack(codes)
    out, inp = shape
    assert packed.dtype == torch.uint8
    assert packed.shape == (out, math.ceil(inp / packing.weights_per_byte))
    assert packed.numel() == packing.packed_bytes(out, inp)
    unpacked = packing.unpack(packed, inp)
    assert unpacked.dtype == torch.int8
    assert torch.equal(unpacked, codes)


@pytest.mark.parametrize("name", sorted(PACKINGS))
@pytest.mark.parametrize("value", [-1, 0, 1])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (5, 13), (2, 2050)])
def test_round_trip_constant_codes(name, value, shape):
    codes = torch.full(shape, value, dtype=torch.int8)
    packing = PACKINGS[name]
    assert torch.equal(packing.unpack(packing.pack(codes), shape[1]), codes)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int64, torch.float32, torch.float64])
def test_accepts_any_real_dtype(dtype):
    codes = random_codes((6, 10), seed=1)
    assert torch.equal(pack_ternary_2bit(codes.to(dtype)), pack_ternary_2bit(codes))
    assert torch.equal(pack_ternary_base3(codes.to(dtype)), pack_ternary_base3(codes))


def test_known_bytes_and_padding():
    # 2-bit: fields code+1 = 0, 1, 2, 2 at bits 0, 2, 4, 6 -> 0 + 4 + 32 + 128.
    assert pack_ternary_2bit(torch.tensor([[-1, 0, 1, 1]])).tolist() == [[164]]
    # A lone +1 is padded with three zeros (field 1): 2 + 4 + 16 + 64; each row starts a new byte.
    assert pack_ternary_2bit(torch.tensor([[1], [-1]])).tolist() == [[86], [84]]
    # Base 3: digits 0, 1, 2, 2, 0 -> 3 + 18 + 54; a lone +1 padded with 0s -> 2 + 3 + 9 + 27 + 81.
    assert pack_ternary_base3(torch.tensor([[-1, 0, 1, 1, -1]])).tolist() == [[75]]
    assert pack_ternary_base3(torch.tensor([[1]])).tolist() == [[122]]


@pytest.mark.parametrize("pack", [pack_ternary_2bit, pack_ternary_base3])
@pytest.mark.parametrize("bad, match", [
    (torch.tensor([[0, 2]]), "in \\{-1, 0, \\+1\\}"),
    (torch.tensor([[0.5, 0.0]]), "in \\{-1, 0, \\+1\\}"),
    (torch.tensor([[float("nan"), 1.0]]), "in \\{-1, 0, \\+1\\}"),
    (torch.tensor([-1, 0, 1]), "2-D"),
    (torch.zeros(2, 3, 4), "2-D"),
])
def test_invalid_codes_raise(pack, bad, match):
    with pytest.raises(ValueError, match=match):
        pack(bad)


def test_invalid_packed_raise():
    with pytest.raises(ValueError, match="field value 3"):
        unpack_ternary_2bit(torch.tensor([[0xFF]], dtype=torch.uint8), 4)
    with pytest.raises(ValueError, match="above 242"):
        unpack_ternary_base3(torch.tensor([[250]], dtype=torch.uint8), 5)
    with pytest.raises(ValueError, match="needs 2"):
        unpack_ternary_2bit(torch.zeros(3, 1, dtype=torch.uint8), 5)
    with pytest.raises(ValueError, match="uint8"):
        unpack_ternary_base3(torch.zeros(3, 1, dtype=torch.int8), 5)


@pytest.mark.parametrize("shape", [(3, 7), (65, 130)])
def test_reference_matmul_matches_float_matmul(shape):
    codes = random_codes(shape, seed=2)
    x = torch.randn(4, shape[1], generator=torch.Generator().manual_seed(3))
    expected = x @ codes.float().T * 0.37
    result = ternary_matmul_reference(x, pack_ternary_2bit(codes), shape[1], 0.37)
    assert result.dtype == torch.float32 and result.shape == (4, shape[0])
    assert torch.allclose(result, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tokens", [1, 5])
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (17, 129), (9, 130), (5, 2050), (2050, 768), (768, 2050)])
def test_kernel_is_exact(kernel, tokens, shape):
    out, inp = shape
    codes = random_codes(shape, seed=out + inp)
    x = torch.randint(-128, 128, (tokens, inp), dtype=torch.int8, generator=torch.Generator().manual_seed(tokens))
    result = kernel.ternary_linear_int8(x, pack_ternary_2bit(codes), inp)
    assert result.dtype == torch.int32 and result.shape == (tokens, out)
    assert torch.equal(result.long(), x.long() @ codes.long().T)


@pytest.mark.parametrize("code", [-1, 1])
def test_kernel_extreme_values(kernel, code):
    """Largest magnitudes on every compiled path: every product is -128 * code; catches int16
    saturation in the BW loop and overflow of the VNNI loop's in-place fields (field 3 of a +1 byte
    is 128 there)."""
    from pipeline.inference.kernels import compiled_paths, forced_path

    codes = torch.full((4, 4099), code, dtype=torch.int8)
    x = torch.full((2, 4099), -128, dtype=torch.int8)
    for path in compiled_paths():
        with forced_path(path):
            result = kernel.ternary_linear_int8(x, pack_ternary_2bit(codes), 4099)
        assert torch.equal(result, torch.full((2, 4), -128 * code * 4099, dtype=torch.int32)), path


def test_kernel_rejects_mismatched_shapes(kernel):
    packed = pack_ternary_2bit(random_codes((3, 7)))
    with pytest.raises(RuntimeError, match="in_features"):
        kernel.ternary_linear_int8(torch.zeros(1, 8, dtype=torch.int8), packed, 7)  # x too wide
    with pytest.raises(RuntimeError, match="needs 3"):
        kernel.ternary_linear_int8(torch.zeros(1, 9, dtype=torch.int8), packed, 9)  # packed too narrow
    with pytest.raises(RuntimeError, match="int8"):
        kernel.ternary_linear_int8(torch.zeros(1, 7), packed, 7)


def relative_error(result: torch.Tensor, expected: torch.Tensor) -> float:
    """Largest absolute difference over the largest magnitude (elementwise ratios blow up near 0)."""
    return float((result - expected).abs().max() / expected.abs().max())


@pytest.mark.parametrize("tokens", [1, 5])
@pytest.mark.parametrize("shape", [(3, 7), (2050, 768), (768, 2050)])
def test_float_wrapper_kernel_matches_reference(kernel, tokens, shape):
    out, inp = shape
    codes = random_codes(shape, seed=4)
    packed = pack_ternary_2bit(codes)
    x = torch.randn(tokens, inp, generator=torch.Generator().manual_seed(5)) * 3
    with_kernel = ternary_linear(x, packed, inp, 0.05, use_kernel=True)
    without = ternary_linear(x, packed, inp, 0.05, use_kernel=False)
    assert with_kernel.shape == without.shape == (tokens, out)
    assert relative_error(with_kernel, without) < 1e-4


def test_float_wrapper_matches_the_training_layer():
    # The model's forward pass: fake-quantized activations times codes * alpha, in float.
    codes = random_codes((33, 70), seed=6)
    x = torch.randn(2, 3, 70, generator=torch.Generator().manual_seed(7))
    expected = torch.nn.functional.linear(fake_quantize_activations(x, 8), codes.float() * 0.2)
    for use_kernel in (True, False):
        result = ternary_linear(x, pack_ternary_2bit(codes), 70, 0.2, use_kernel=use_kernel)
        assert result.shape == (2, 3, 33)
        assert relative_error(result, expected) < 1e-4


def test_quantize_activations_range_and_bits():
    x = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]])
    codes, scale = quantize_activations(x, 8)
    assert codes.dtype == torch.int8 and codes[0].tolist() == [64, -127, 32] and codes[1].tolist() == [0, 0, 0]
    assert torch.allclose(scale[0], torch.tensor([2.0 / 127]))
    with pytest.raises(ValueError, match="2..8"):
        ternary_linear(x, pack_ternary_2bit(torch.zeros(1, 3)), 3, 1.0, act_bits=9)


def test_the_fused_call_equals_quantize_then_integer_matmul_then_rescale(kernel):
    # one C++ call (quantize, multiply, rescale) against the three steps done in PyTorch around the
    # integer kernel: bit for bit, since both round and scale in the same float32 operations
    codes = random_codes((96, 200), seed=8)
    packed = pack_ternary_2bit(codes)
    x = torch.randn(5, 200, generator=torch.Generator().manual_seed(9)) * 2
    x_codes, x_scale = quantize_activations(x, 8)
    steps = kernel.ternary_linear_int8(x_codes, packed, 200).to(torch.float32) * (x_scale * 0.037)
    assert torch.equal(ternary_linear(x, packed, 200, 0.037, use_kernel=True), steps)


@pytest.mark.parametrize("use_kernel", [True, False])
def test_stacked_layers_with_one_alpha_per_row_equal_the_separate_layers(use_kernel):
    first, second = random_codes((16, 64), seed=10), random_codes((24, 64), seed=11)
    x = torch.randn(3, 64, generator=torch.Generator().manual_seed(12))
    stacked = ternary_linear(x, pack_ternary_2bit(torch.cat([first, second])), 64,
                             torch.tensor([0.5] * 16 + [0.25] * 24), use_kernel=use_kernel)
    separate = torch.cat([ternary_linear(x, pack_ternary_2bit(first), 64, 0.5, use_kernel=use_kernel),
                          ternary_linear(x, pack_ternary_2bit(second), 64, 0.25, use_kernel=use_kernel)], dim=-1)
    assert torch.equal(stacked, separate)


def test_kernel_norm_and_rotary_agree_with_the_models(kernel):
    from pipeline.model.transformer import apply_rotary, rotary_tables

    torch.manual_seed(0)
    norm = torch.nn.RMSNorm(96, eps=1e-6)
    torch.nn.init.normal_(norm.weight)
    x = torch.randn(2, 5, 96) * 3
    assert torch.allclose(kernel.rms_norm(x, norm.weight.detach(), 1e-6), norm(x), rtol=1e-5, atol=1e-6)
    q = torch.randn(2, 4, 7, 16)
    cos, sin = rotary_tables(16, torch.arange(3, 10))
    assert torch.allclose(kernel.rotary(q, cos, sin), apply_rotary(q, cos, sin), rtol=1e-6, atol=1e-6)
