"""The price of an untested claim (pipeline/analysis/costs.py), computed from params: the notebook's
T4 rate, this run's measured CPU rate, jobs that scale with models x seeds x epochs x tokens; and the
parameter counts every FLOPs scaling and storage figure rests on, against the model code."""

import pytest
import torch

from pipeline.analysis import costs
from pipeline.analysis.costs import Job, Pricing, flops_per_token, price, profile_config, t4_rate
from pipeline.config import ArchConfig, parse_config
from pipeline.model.transformer import TransformerLM
from pipeline.paper import NOTEBOOK_TRAIN_TOKENS, PAPER_ARCH, PAPER_PARAMETERS, PAPER_VOCAB_SIZE, param_counts
from tests.conftest import deep_update, raw_params


def _pricing(**train) -> Pricing:
    cfg = parse_config(deep_update(raw_params(), {"train": train}) if train else raw_params())
    return Pricing(cfg, train_tokens=264_514, vocab_size=290, tokens_per_second=25_000.0, device="cpu (2 threads)")


@pytest.mark.parametrize("arch, vocab", [(PAPER_ARCH, PAPER_VOCAB_SIZE), (ArchConfig.from_name("cpu-study"), 1541),
                                         (ArchConfig.from_name("tiny"), 300)])
def test_parameter_counts_match_the_model_code(arch, vocab):
    with torch.device("meta"):
        model = TransformerLM(arch, vocab)
    counts = param_counts(arch, vocab)
    assert counts.total == sum(p.numel() for p in model.parameters())
    assert counts.ternary == sum(layer.weight.numel() for layer in model.quant_layers().values())
    assert counts.embedding == model.embed.weight.numel()
    if arch == PAPER_ARCH:
        assert counts.total == PAPER_PARAMETERS


def test_the_notebooks_rate_gives_17_t4_hours_per_model():
    job = Job("the notebook's ternary model", 1, 1, 15, NOTEBOOK_TRAIN_TOKENS, PAPER_ARCH, PAPER_VOCAB_SIZE)
    low, high = price("notebook", [job], t4_rate()).hours
    assert (low, high) == pytest.approx((2 * 2031 * 15 / 3600, 2 * 2074 * 15 / 3600))  # 16.9 and 17.3 T4-hours


def test_doubling_train_epochs_doubles_a_training_cost():
    for remedy in (costs.writingprompts, costs.longer(None), costs.more_seeds(None), costs.sparsity_rerun):
        single, double = remedy(_pricing(epochs=3)), remedy(_pricing(epochs=6))
        assert double.hours == pytest.approx(tuple(2 * h for h in single.hours)), remedy
        assert single.hours[0] > 0 and single.device == "hours of cpu (2 threads)"


def test_a_cpu_price_is_tokens_over_the_measured_rate():
    pricing = _pricing()  # default params: 3 seeds x 2 models x 1 epoch
    expected = 2 * 3 * 1 * 264_514 / 25_000 / 3600
    assert costs.writingprompts(pricing).hours == pytest.approx((expected, expected))


def test_more_seeds_prices_only_the_new_ones():
    found = costs.more_seeds(None)(_pricing())  # 3 seeds -> 6: three new
    assert found.command == "dvc exp run -S 'train.seeds=[0,1,2,3,4,5]'"
    assert found.hours[0] == pytest.approx(2 * 3 * 264_514 / 25_000 / 3600)


def test_a_profile_is_priced_from_its_own_params():
    cfg = profile_config(_pricing().cfg, "paper-code")
    assert (cfg.train.epochs, len(cfg.train.seeds), cfg.data.max_train_stories) == (15, 3, 60_000)
    found = costs.PAPER_SCALE_RUN(_pricing())
    assert found.command == "python -m pipeline.profiles paper-code && dvc repro"
    assert found.hours == pytest.approx((6 * 2 * 2031 * 15 / 3600, 6 * 2 * 2074 * 15 / 3600))
    study = costs.CPU_STUDY_RUN(_pricing())  # this CPU's rate, carried to the study's model by FLOPs per token
    scale = flops_per_token(ArchConfig.from_name("cpu-study"), 2048) / flops_per_token(_pricing().cfg.model.arch, 290)
    assert f"x{scale:.2f} FLOPs per token" in study.how and study.device == "hours of cpu (2 threads)"


def test_without_a_measured_rate_a_cpu_price_says_why():
    pricing = Pricing(_pricing().cfg, 1000, 100, None)
    with pytest.raises(ValueError, match="tokens/s"):
        costs.writingprompts(pricing)
