"""The packed ternary checkpoint and inference model: same logits and perplexity as the
fake-quantized training model, real storage savings, exact memory accounting."""

import numpy as np
import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

from pipeline.bench.benchmark import file_bits_per_ternary_weight
from pipeline.config import ArchConfig, RoleModel
from pipeline.errors import InputError
from pipeline.training.evaluate import StreamWindows, evaluate_lm
from pipeline.inference.dense import frozen_for_inference, int8_dynamic
from pipeline.inference.kernels import (EPS, INT8_MAX, KERNEL_PATHS, compiled_paths, forced_path, int8_linear,
                                       load_kernel, quantize_rows, ternary_linear)
from pipeline.inference.packing import pack_ternary_2bit, ternary_matmul_reference
from pipeline.inference.layers import HeadInDtype, Int8Head, PackedTernaryLinear
from pipeline.inference.packed import (KernelDecodeBlock, PackedAttention, PackedSwiGLU, PackedTransformerLM,
                                       export_packed, load_packed)
from pipeline.model.quant import QuantLinear
from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, Block, DecodeCache, TransformerLM, state_bytes

ARCH = ArchConfig.from_name("tiny", dim=64, dropout=0.0)


def _ternary(scale: str = "absmean") -> TransformerLM:
    torch.manual_seed(0)
    return TransformerLM(ARCH, 300, RoleModel.resolve("ternary", scale, 8)).eval()


@pytest.mark.parametrize("packing", ["2bit", "base3"])
@pytest.mark.parametrize("scale", ["absmean", "learned"])
def test_packed_logits_match_fake_quantized_model(tmp_path, packing, scale):
    model = _ternary(scale)
    export_packed(model, tmp_path / "m.safetensors", packing, head_dtype="fp32")
    packed, meta = load_packed(tmp_path / "m.safetensors")
    ids = torch.randint(0, 300, (2, 24))
    with torch.no_grad():
        assert torch.allclose(packed(ids), model(ids), atol=1e-4)  # stated tolerance: fp32 rounding
    assert meta["packing"] == packing


def test_packed_perplexity_matches_with_bf16_embedding_and_head(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype="bf16")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    tokens = np.random.default_rng(0).integers(0, 300, 32 * 20 + 1).astype(np.uint16)
    windows = np.arange(20)
    reference = evaluate_lm(model, StreamWindows(tokens, 32), windows, 8, 0.1)
    ours = evaluate_lm(packed, StreamWindows(tokens, 32), windows, 8, 0.1)
    assert ours["ppl"] == pytest.approx(reference["ppl"], rel=2e-3)  # stated tolerance: bf16 head


def test_packed_model_holds_two_bits_per_block_weight(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype="fp32")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    padded = sum(layer.weight.shape[0] * -(-layer.weight.shape[1] // 4) for layer in model.quant_layers().values())
    full_precision = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("blocks.") or "norm" in n)
    # stacked q/k/v and gate/up layers keep one fp32 alpha per output row
    row_alphas = sum(3 * b.attn.wq.out_features + 2 * b.mlp.w1.out_features for b in model.blocks)
    assert state_bytes(packed) == padded + 4 * full_precision + 4 * row_alphas


def test_stacking_layers_that_share_an_input_changes_no_logit(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype="fp32")
    stacked, _ = load_packed(tmp_path / "m.safetensors")
    assert [len(block.attn.qkv) for block in stacked.blocks] == [1] * ARCH.n_layers
    separate = PackedTransformerLM(ARCH, 300, model.role, stacked.embed, stacked.pos_embed,
                                   torch.nn.ModuleList(_unstacked(block) for block in stacked.blocks),
                                   stacked.norm, stacked.head).eval()
    ids = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(stacked(ids), separate(ids))


def _unstacked(block: KernelDecodeBlock) -> Block:
    """The same block with one packed layer per projection (q, k, v; gate, up)."""
    qkv, gate_up = block.attn.qkv[0], block.mlp.gate_up[0]
    rows, hidden = qkv.out_features // 3, gate_up.out_features // 2
    attn = PackedAttention(ARCH, True, [_slice(qkv, i * rows, rows) for i in range(3)], block.attn.wo,
                           block.attn.rotary)
    mlp = PackedSwiGLU([_slice(gate_up, 0, hidden), _slice(gate_up, hidden, hidden)], block.mlp.w2)
    return Block(block.attn_norm, attn, block.mlp_norm, mlp, dropout=0.0)


def _slice(layer: PackedTernaryLinear, start: int, rows: int) -> PackedTernaryLinear:
    return PackedTernaryLinear(layer.packed[start:start + rows], float(layer.row_alpha[start]), layer.in_features,
                               layer.act_bits, layer.use_kernel)


def test_the_kernel_decoding_step_refuses_unstacked_layers(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype="fp32")
    block = load_packed(tmp_path / "m.safetensors", use_kernel=False)[0].blocks[0]
    with pytest.raises(ValueError, match="stacked into one layer"):
        KernelDecodeBlock(block.attn_norm, block.attn, block.mlp_norm, block.mlp)


@pytest.mark.parametrize("head_dtype", ["fp32", "bf16", "int8"])
@pytest.mark.parametrize("use_kernel", [True, False])
def test_a_packed_model_built_from_the_trained_one_equals_the_loaded_file(tmp_path, head_dtype, use_kernel):
    model = _ternary("learned")
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    export_packed(model, tmp_path / "m.safetensors", "2bit", head_dtype)
    loaded, _ = load_packed(tmp_path / "m.safetensors", use_kernel)
    built = PackedTransformerLM.from_trained(model, head_dtype, use_kernel)
    ids = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.equal(built(ids), loaded(ids))
    assert all(torch.equal(tensor, before[name]) for name, tensor in model.state_dict().items())
    assert all(isinstance(layer, QuantLinear) for layer in model.quant_layers().values())
    trained = {tensor.data_ptr() for tensor in model.state_dict().values()}
    assert not trained & {tensor.data_ptr() for tensor in built.state_dict().values()}


def test_packed_file_is_at_most_2_1_bits_per_ternary_weight(tmp_path):
    torch.manual_seed(0)
    arch = ARCH.model_copy(update={"dim": 256, "n_heads": 4})  # large enough that headers are noise
    model = TransformerLM(arch, 300, PAPER_TERNARY)
    export_packed(model, tmp_path / "m.safetensors", "2bit")
    assert file_bits_per_ternary_weight(tmp_path / "m.safetensors", model) < 2.1
    export_packed(model, tmp_path / "b.safetensors", "base3")
    assert file_bits_per_ternary_weight(tmp_path / "b.safetensors", model) < 1.7


def test_base3_file_is_smaller_than_2bit(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "a.safetensors", "2bit")
    export_packed(model, tmp_path / "b.safetensors", "base3")
    assert (tmp_path / "b.safetensors").stat().st_size < (tmp_path / "a.safetensors").stat().st_size


def test_only_ternary_models_can_be_packed(tmp_path):
    with pytest.raises(ValueError, match="model.quant: ternary"):
        export_packed(TransformerLM(ARCH, 300, FP32_TWIN), tmp_path / "x.safetensors")


def test_the_kernel_bf16_head_sums_bf16_products_in_fp32():
    if load_kernel() is None:
        pytest.skip("the C++ kernel did not build")
    torch.manual_seed(0)
    head = torch.nn.Linear(200, 77)
    x = torch.randn(3, 5, 200)
    ours = HeadInDtype(head, torch.bfloat16, use_kernel=True)(x)
    torchs = HeadInDtype(head, torch.bfloat16, use_kernel=False)(x)
    w, b = head.weight.detach().bfloat16().float(), head.bias.detach().bfloat16().float()
    exact = x.bfloat16().float() @ w.T + b  # the same bf16 inputs, summed in fp32
    assert ours.shape == (3, 5, 77) and ours.dtype == torch.float32
    assert torch.allclose(ours, exact, rtol=1e-5, atol=1e-5)
    assert torch.allclose(torchs, exact, rtol=2 ** -7, atol=1e-2)  # torch rounds the logits to bf16


def test_rows_quantize_to_symmetric_int8_within_half_a_step():
    torch.manual_seed(0)
    weight = torch.randn(37, 90) * torch.linspace(0.01, 3.0, 37)[:, None]  # rows of very different sizes
    codes, scale = quantize_rows(weight)
    assert codes.dtype == torch.int8 and codes.abs().max() == INT8_MAX and int(codes.min()) >= -INT8_MAX
    assert torch.all((codes.float() * scale[:, None] - weight).abs() <= scale[:, None] / 2 + 1e-7)


@pytest.mark.parametrize("in_features, out_features", [(768, 64), (77, 13)])  # vector body; tails of both
def test_the_kernel_int8_head_equals_the_exact_integer_reference(in_features, out_features):
    if load_kernel() is None:
        pytest.skip("the C++ kernel did not build")
    torch.manual_seed(1)
    codes, scale = quantize_rows(torch.randn(out_features, in_features))
    bias = torch.randn(out_features)
    x = torch.randn(3, 4, in_features) * 5
    ours = int8_linear(x, codes, scale, bias, use_kernel=True)
    reference = int8_linear(x, codes, scale, bias, use_kernel=False)
    assert ours.shape == (3, 4, out_features) and ours.dtype == torch.float32
    # the integer sums are exact on both paths; only the final multiply-add may round differently
    assert torch.allclose(ours, reference, rtol=1e-6, atol=1e-5)
    assert torch.allclose(int8_linear(x, codes, scale, None), reference - bias, rtol=1e-6, atol=1e-5)


def test_the_int8_head_halves_the_heads_bytes_and_keeps_the_logits_close(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "b.safetensors", "2bit", head_dtype="bf16")
    export_packed(model, tmp_path / "i.safetensors", "2bit", head_dtype="int8")
    bf16, _ = load_packed(tmp_path / "b.safetensors")
    int8, meta = load_packed(tmp_path / "i.safetensors")
    assert meta["head_dtype"] == "int8" and isinstance(int8.head, Int8Head)
    vocab, dim = model.head.weight.shape
    head_bytes = state_bytes(int8.head)
    assert head_bytes == vocab * dim + 4 * vocab + 4 * vocab  # codes, a scale per row, the fp32 bias
    assert state_bytes(int8) - head_bytes == state_bytes(bf16) - state_bytes(bf16.head)  # all else the same
    ids = torch.randint(0, 300, (2, 24), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        reference, ours = model(ids), int8(ids)
    spread = float(reference.std())
    assert float((ours - reference).abs().max()) < 0.05 * spread  # stated tolerance: int8 weights and activations
    assert (ours.argmax(-1) == reference.argmax(-1)).float().mean() > 0.95


def test_decode_cache_writes_in_place_and_returns_the_filled_prefix():
    prefill = [(torch.ones(1, 2, 3, 4), 2 * torch.ones(1, 2, 3, 4))]
    cache = DecodeCache(prefill, max_len=5)
    keys, values = cache.extend(0, torch.full((1, 2, 1, 4), 7.0), torch.full((1, 2, 1, 4), 8.0), start=3)
    assert keys.shape == (1, 2, 4, 4) and keys[0, 0, :, 0].tolist() == [1, 1, 1, 7] and values[0, 1, 3, 0] == 8
    assert prefill[0][0].shape == (1, 2, 3, 4)  # the prefill's own tensors are left alone
    with pytest.raises(ValueError, match="layer 0 holds 4 positions; cannot decode position 3"):
        cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=3)  # a rewrite
    with pytest.raises(ValueError, match="cannot decode position 6"):
        cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=6)  # a gap
    cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=4)
    with pytest.raises(ValueError, match="past the cache's 5 positions"):
        cache.extend(0, torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4), start=5)
    assert cache.lengths == [5]


def test_advance_all_checks_every_layer_before_moving_any():
    cache = DecodeCache([(torch.ones(1, 2, 3, 4), torch.ones(1, 2, 3, 4))] * 3, max_len=5)
    cache.advance(1, 3, 1)  # layer 1 ahead of the others
    with pytest.raises(ValueError, match="layer 1 holds 4 positions; cannot decode position 3"):
        cache.advance_all(3, 1)
    assert cache.lengths == [3, 4, 3]  # nothing moved
    cache = DecodeCache([(torch.ones(1, 2, 3, 4), torch.ones(1, 2, 3, 4))] * 3, max_len=4)
    assert cache.advance_all(3, 1) == 4 and cache.lengths == [4, 4, 4]
    with pytest.raises(ValueError, match="past the cache's 4 positions"):
        cache.advance_all(4, 1)


@pytest.mark.skipif(load_kernel() is None, reason="the C++ kernel did not build")
def test_the_one_call_step_refuses_a_gap_before_anything_is_written(tmp_path):
    export_packed(_ternary(), tmp_path / "m.safetensors", "2bit")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    ids = torch.randint(0, 300, (1, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        _, prefill = packed.forward_cached(ids[:, :8])
        cache = DecodeCache(prefill, 12)
        keys = cache.keys.clone()
        with pytest.raises(ValueError, match="layer 0 holds 8 positions; cannot decode position 9"):
            packed.forward_cached(ids[:, 9:10], cache, 9)
    assert cache.lengths == [8] * ARCH.n_layers and torch.equal(cache.keys, keys)


def test_a_multi_token_step_with_a_decode_cache_is_refused_before_anything_is_written(tmp_path):
    model = _ternary()
    ids = torch.randint(0, 300, (1, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        _, prefill = model.forward_cached(ids[:, :8])
        cache = DecodeCache(prefill, 12)
        with pytest.raises(ValueError, match="one token at a time"):
            model.forward_cached(ids[:, 8:10], cache, 8)
    assert cache.lengths == [8] * ARCH.n_layers


@pytest.mark.skipif(load_kernel() is None, reason="the C++ kernel did not build")
@pytest.mark.parametrize("path", compiled_paths())
def test_the_one_call_step_splits_rows_and_heads_between_any_number_of_threads_exactly(tmp_path, path):
    """The DecodeStack's step keeps its threads in one parallel region, each computing a share of every
    matmul's rows and of the heads: at 1, 2 and 3 threads (an uneven split) and on every kernel path,
    its output and cache are decode_block's, called block by block, bit for bit."""
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    kernel = load_kernel()
    weights = [block.step_weights() for block in packed.blocks]
    stack = kernel.DecodeStack([t for tensors, _ in weights for t in tensors],
                               [float(v) for _, scalars in weights for v in scalars], packed.blocks[0].attn.wo.act_bits,
                               EPS)
    head_dim, threads = ARCH.dim // ARCH.n_heads, torch.get_num_threads()
    shape = (ARCH.n_layers, ARCH.n_heads, 16, head_dim)
    x = torch.randn(1, ARCH.dim, generator=torch.Generator().manual_seed(3))
    try:
        with forced_path(path):
            for count in (1, 2, 3):
                torch.set_num_threads(count)
                generator = torch.Generator().manual_seed(4)
                keys, values = torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
                expected_keys, expected_values = keys.clone(), values.clone()
                for position in (0, 5):
                    cos, sin = torch.randn(1, head_dim // 2), torch.randn(1, head_dim // 2)
                    y = x
                    for b, ((norm_a, norm_m, qkv, qkv_rows, wo, w13, w13_rows, w2), (eps_a, eps_m, wo_alpha, w2_alpha)) \
                            in enumerate(weights):
                        y = kernel.decode_block(y, norm_a, eps_a, norm_m, eps_m, qkv, qkv_rows, wo, wo_alpha, w13,
                                                w13_rows, w2, w2_alpha, cos, sin, expected_keys[b], expected_values[b],
                                                position, packed.blocks[0].attn.wo.act_bits, EPS)
                    assert torch.equal(stack.step(x, cos, sin, keys, values, position), y), (count, position)
                    assert torch.equal(keys, expected_keys) and torch.equal(values, expected_values)
    finally:
        torch.set_num_threads(threads)


def test_the_one_call_step_refuses_weights_it_cannot_read_through_pointers(tmp_path):
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    tensors, scalars = packed.blocks[0].step_weights()
    kernel = load_kernel()
    wrong = [*tensors[:2], tensors[2].t(), *tensors[3:]]  # codes not contiguous
    with pytest.raises(RuntimeError, match="tensor 2 .*contiguous CPU uint8"):
        kernel.DecodeStack(wrong, [float(v) for v in scalars], 8, EPS)
    with pytest.raises(RuntimeError, match="one row alpha per stacked row"):
        kernel.DecodeStack([*tensors[:3], tensors[3][:-1], *tensors[4:]], [float(v) for v in scalars], 8, EPS)


def test_the_one_call_decode_step_agrees_with_the_block_by_block_path(tmp_path, monkeypatch):
    """kernel.decode_block against the same packed model decoding through the Python blocks (tuple
    cache), teacher-forced over 24 positions, and the kernel's DecodeStack (every block in one call)
    against decode_block called block by block: the same numbers, bit for bit. Its attention sums in another order than torch's SDPA,
    and a rounding difference can move an int8 activation code by one, so the logits agree to a code
    flip, not bit for bit: bounded here at 0.2% of the largest logit, NLL to 1e-5 relative and the
    same argmax at every position."""
    model = _ternary()
    export_packed(model, tmp_path / "m.safetensors", "2bit")
    packed, _ = load_packed(tmp_path / "m.safetensors")
    assert isinstance(packed.blocks[0], KernelDecodeBlock)
    kernel, calls = load_kernel(), []
    step_in_cpp = kernel.decode_block
    monkeypatch.setattr(kernel, "decode_block", lambda *args: calls.append(args[-3]) or step_in_cpp(*args))
    ids = torch.randint(0, 300, (1, 32), generator=torch.Generator().manual_seed(5))
    reference, fused, stacked = [], [], []
    stack_steps = []
    with torch.inference_mode():
        _, tuple_cache = packed.forward_cached(ids[:, :8])
        decode_cache, stack_cache = DecodeCache(tuple_cache, 32), DecodeCache(tuple_cache, 32)
        for position in range(8, 31):
            step = ids[:, position:position + 1]
            logits, tuple_cache = packed.forward_cached(step, tuple_cache, position)
            reference.append(logits[0, -1])
            packed.one_call = False  # each block's decode_block called from Python
            logits, decode_cache = packed.forward_cached(step, decode_cache, position)
            packed.one_call = True
            fused.append(logits[0, -1])
            logits, stack_cache = packed.forward_cached(step, stack_cache, position)  # the DecodeStack: one call
            stacked.append(logits[0, -1])
            stack_steps.append(packed.decode_stack is not None and stack_cache.lengths == [position + 1] * ARCH.n_layers)
    # the fused path really ran: once per block and position, and never for the tuple cache; the
    # stack ran every block in C++ (no decode_block call from Python) and gave the same numbers
    assert calls == [position for position in range(8, 31) for _ in range(ARCH.n_layers)]
    assert all(stack_steps) and packed.decode_stack.blocks() == ARCH.n_layers
    assert torch.equal(torch.stack(stacked), torch.stack(fused))
    assert torch.equal(stack_cache.keys, decode_cache.keys) and torch.equal(stack_cache.values, decode_cache.values)
    reference, fused, targets = torch.stack(reference), torch.stack(fused), ids[0, 9:32]
    assert (fused - reference).abs().max() <= 0.002 * reference.abs().max()
    nll = [torch.nn.functional.cross_entropy(logits, targets).item() for logits in (reference, fused)]
    assert nll[1] == pytest.approx(nll[0], rel=1e-5)
    assert torch.equal(fused.argmax(-1), reference.argmax(-1))


def test_int8_dynamic_quantizes_a_copy_of_every_linear_layer():
    torch.manual_seed(0)
    twin = TransformerLM(ARCH, 300, FP32_TWIN).eval()
    int8 = int8_dynamic(twin)
    quantized = [module for module in int8.modules() if isinstance(module, DynamicInt8Linear)]
    assert len(quantized) == 7 * ARCH.n_layers + 1  # every block linear and the head
    assert all(isinstance(layer, QuantLinear) for layer in twin.quant_layers().values())  # the original is kept
    # int8 weights: about a quarter of the fp32 bytes of the linears; embedding and norms stay fp32
    linear_params = sum(layer.weight.numel() for layer in twin.quant_layers().values()) + twin.head.weight.numel()
    saved = state_bytes(twin) - state_bytes(int8)
    assert 2.9 * linear_params < saved < 3 * linear_params
    ids = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        reference, ours = twin(ids), int8(ids)
    assert (ours - reference).abs().max() < 0.05 * reference.abs().max()  # stated tolerance: int8 rounding
    assert not torch.equal(ours, reference)


def test_the_frozen_copy_computes_exactly_what_the_trained_model_does():
    model = _ternary("learned")
    frozen = frozen_for_inference(model)
    assert all(layer.quant == "fp32" and layer.scale is None for layer in frozen.quant_layers().values())
    assert all(layer.quant == "ternary" for layer in model.quant_layers().values())
    layer = frozen.quant_layers()["blocks.0.attn.wq"]
    alpha = model.quant_layers()["blocks.0.attn.wq"].effective_scale()
    assert set(torch.unique(layer.weight / alpha).round().tolist()) <= {-1.0, 0.0, 1.0}
    ids = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert torch.equal(frozen(ids), model(ids))


def test_the_head_check_scores_both_heads_on_the_same_windows(tmp_path):
    from pipeline.inference.headcheck import head_change, main
    from pipeline.model.checkpoint import save_model

    model = _ternary()
    bf16 = PackedTransformerLM.from_trained(model, "bf16")
    tokens = np.random.default_rng(0).integers(0, 300, 32 * 5 + 1).astype(np.uint16)
    same = head_change(bf16, bf16, tokens, 32, windows=9)  # capped at the 5 windows there are
    assert same["windows"] == 5 and same["positions"] == 160 and same["ppl_relative_change"] == 0.0
    assert same["top1_agreement"] == 1.0 and same["max_abs_logit_difference"] == 0.0
    int8 = PackedTransformerLM.from_trained(model, "int8")
    changed = head_change(bf16, int8, tokens, 32, windows=5)
    assert 0.0 < abs(changed["ppl_relative_change"]) < 0.01 and changed["int8_head_ppl"] > 1.0
    with pytest.raises(InputError, match="cannot fill one window"):
        head_change(bf16, int8, tokens[:20], 32, windows=1)
    twin = TransformerLM(ARCH, 300, FP32_TWIN)
    save_model(tmp_path / "twin.safetensors", twin, {})
    np.save(tmp_path / "val.npy", tokens)
    with pytest.raises(SystemExit, match=r"^error: .*twin.safetensors is not a ternary model"):
        main([str(tmp_path / "twin.safetensors"), "--tokens", str(tmp_path / "val.npy")])


@pytest.mark.parametrize("path", KERNEL_PATHS)
def test_every_kernel_path_the_cpu_has_matches_the_reference(path):
    """Each inner-loop path, forced in turn, against the pure-PyTorch reference: the ternary integer
    matmul (exact), the bf16 head (fp32 sums of bf16 products) and the int8 head (exact integer sums);
    odd widths exercise each vector loop's tail."""
    if path not in compiled_paths():
        pytest.skip(f"the {path} path is not compiled in on this CPU (compiled: {compiled_paths() or 'no kernel'})")
    kernel = load_kernel()
    generator = torch.Generator().manual_seed(7)
    for in_features, out_features in ((768, 36), (301, 13)):
        codes = torch.randint(-1, 2, (out_features, in_features), generator=generator)
        packed = pack_ternary_2bit(codes)
        x = torch.randint(-128, 128, (3, in_features), generator=generator, dtype=torch.int8)
        head = torch.nn.Linear(in_features, out_features)
        w8, scale = quantize_rows(head.weight)
        xf = torch.randn(3, in_features, generator=generator)
        with forced_path(path):
            assert kernel.current_path() == path
            ternary = kernel.ternary_linear_int8(x, packed, in_features)
            bf16 = kernel.bf16_linear(xf, head.weight.detach().bfloat16(), head.bias.detach())
            int8 = int8_linear(xf, w8, scale, head.bias.detach(), use_kernel=True)
            fused = ternary_linear(xf, packed, in_features, 0.5, 8, use_kernel=True)
        assert kernel.current_path() == compiled_paths()[-1]  # the widest is back in force
        assert torch.equal(ternary, (x.long() @ codes.T.long()).int())
        exact_bf16 = xf.bfloat16().double() @ head.weight.detach().bfloat16().double().T + head.bias.detach().double()
        assert torch.allclose(bf16.double(), exact_bf16, rtol=1e-5, atol=1e-5)
        assert torch.allclose(int8, int8_linear(xf, w8, scale, head.bias.detach(), use_kernel=False), rtol=1e-6, atol=1e-5)
        assert torch.allclose(fused, ternary_linear(xf, packed, in_features, 0.5, 8, use_kernel=False), rtol=1e-5, atol=1e-5)


def test_a_path_that_is_not_compiled_in_is_refused_and_the_path_in_force_kept():
    if load_kernel() is None:
        pytest.skip("the C++ kernel did not build")
    kernel = load_kernel()
    assert set(compiled_paths()) <= set(KERNEL_PATHS)  # a path the C++ adds is a path the tests force
    before = kernel.current_path()
    with pytest.raises(RuntimeError, match="kernel path 'neon' is not compiled in; compiled: scalar"):
        kernel.set_path("neon")
    assert kernel.current_path() == before and compiled_paths()[0] == "scalar"
