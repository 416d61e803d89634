"""pipeline/bench/profile.py on a tiny model: every compiled path gets its parts, and they add up."""

import pytest
import torch

from pipeline.bench import profile
from pipeline.config import ArchConfig
from pipeline.inference.kernels import compiled_paths, load_kernel
from pipeline.inference.packed import PackedTransformerLM
from pipeline.model.transformer import PAPER_TERNARY, TransformerLM


def test_the_profile_times_every_path_and_its_parts_add_up():
    if load_kernel() is None:
        pytest.skip("the C++ kernel did not build")
    torch.manual_seed(0)
    arch = ArchConfig.from_name("tiny", dim=64, dropout=0.0)
    model = PackedTransformerLM.from_trained(TransformerLM(arch, 300, PAPER_TERNARY).eval(), "bf16")
    timings = profile.profile_model(model, threads=1, min_run_time=0.01)
    assert list(timings) == list(compiled_paths())
    for parts in timings.values():
        assert parts["decode_ms"] > 0 and parts["ternary_ms"] > 0 and parts["head_ms"] > 0
        assert parts["rest_ms"] == pytest.approx(parts["decode_ms"] - parts["ternary_in_step_ms"] - parts["head_ms"])
        assert parts["decode_block_by_block_ms"] > 0
    assert model.one_call and model.decode_stack is not None  # the stack ran, and is back in force
    sizes = profile.part_bytes(model)
    assert len(profile._layers(model)) == 4 * arch.n_layers  # stacked q/k/v and gate/up: four calls a block
    dim, hidden, vocab = arch.dim, model.blocks[0].mlp.w2.in_features, 300
    codes = arch.n_layers * (3 * dim * (dim // 4) + dim * (dim // 4) + 2 * hidden * (dim // 4) + dim * -(-hidden // 4))
    row_scales = arch.n_layers * 4 * (3 * dim + 2 * hidden)  # one fp32 alpha per stacked row; wo and w2 keep a float
    assert sizes["ternary"] == codes + row_scales
    assert sizes["head"] == vocab * dim * 2 + vocab * 4  # bf16 weights, the fp32 bias the kernel adds
