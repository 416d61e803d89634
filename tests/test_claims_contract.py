"""The metrics contract (pipeline/analysis/metrics_contract.py): what summarize writes and the claims
and report read, one declaration per metric; a misspelt or undeclared name is an error that names it,
never a silent None."""

import pytest

from pipeline.analysis.claims import build_claims
from pipeline.analysis.costs import Pricing
from pipeline.analysis.metrics_contract import (CONTRACT, Metrics, MetricsFile, MissingMetricError, Presence,
                                                check_written, family_of, required_names)
from pipeline.analysis.runsets import UndeclaredMetricError, aggregate_key, glue_metric
from pipeline.config import parse_config
from tests.conftest import raw_params


@pytest.mark.parametrize("name", ["studied_val_pll", "studied_val_ppl_stdd", "baseline_mrpc_f2", "arm_x_studied_val_pll",
                                  "paper_arch_fp32_weigths_mb", "regularisation_contrast"])
def test_a_misspelt_name_raises_an_error_naming_it(name):
    with pytest.raises(UndeclaredMetricError, match=name):
        Metrics({name: 1.0})
    with pytest.raises(UndeclaredMetricError, match=name):
        Metrics({}).number(name)


def test_key_builders_refuse_a_misspelt_metric_where_it_is_spelt():
    assert aggregate_key("studied", glue_metric("mrpc", "f1")) == "studied_mrpc_f1"
    with pytest.raises(UndeclaredMetricError, match="studied_val_pll"):
        aggregate_key("studied", "val_pll")
    with pytest.raises(UndeclaredMetricError, match="student_val_ppl"):
        aggregate_key("student", "val_ppl")


def test_claims_refuse_a_summary_with_an_undeclared_name():
    pricing = Pricing(parse_config(raw_params()), 1000, 100, 1000.0)
    with pytest.raises(UndeclaredMetricError, match="studied_val_pll_smoothed"):
        build_claims({"studied_val_pll_smoothed": 58.4}, {}, parse_config(raw_params()).claims, pricing)


def test_declared_but_absent_reads_as_none_and_optional_parts_are_optional():
    metrics = Metrics({"n_seeds": 3, "studied_val_loss_per_seed": [4.0, None, 4.1]})
    assert metrics.number("studied_val_ppl") is None and metrics.count("n_seeds") == 3
    assert metrics.series("studied_val_loss_per_seed") is None  # a missing seed: no per-seed test
    for name in ("arm_long_training_regularization_contrast", "peer_llamacpp_tq2_0_ms_per_token",
                 "paper_arch_cuda_fp32_ms_per_token", "studied_code_change_fraction"):
        assert family_of(name).presence is Presence.OPTIONAL, name


def test_required_names_follow_the_tasks_the_params_fine_tune():
    names = required_names(["mrpc"])
    assert "studied_mrpc_f1" in names and "studied_sst2_accuracy" not in names
    assert {"unigram_val_nats", "regularization_contrast_per_seed", "studied_val_loss_per_seed",
            "min_loss_fall_nats", "baseline_tokens_per_second", "run_bench_device"} <= set(names)


def test_written_summaries_are_held_to_the_contract():
    with pytest.raises(MissingMetricError, match="data_source"):
        check_written({"n_seeds": 3}, MetricsFile.SUMMARY, ["mrpc"])
    with pytest.raises(ValueError, match="declared for arms.json"):
        check_written({"arm_notebook_init_studied_val_ppl": 224.0}, MetricsFile.SUMMARY, [])
    with pytest.raises(UndeclaredMetricError, match="arm_x_studied_val_pll"):
        check_written({"arm_x_studied_val_pll": 1.0}, MetricsFile.ARMS)
    check_written({"arm_notebook_init_studied_val_ppl": 224.0}, MetricsFile.ARMS)


def test_every_declaration_has_a_meaning_and_one_home():
    assert all(family.meaning for family in CONTRACT)
    templates = [family.template for family in CONTRACT]
    assert len(templates) == len(set(templates))


def test_the_benchmark_floor_and_cpu_model_reach_the_summary_under_declared_names():
    from pipeline.analysis.summarize import benchmark_metrics

    rows = (("paper_arch", "ternary_packed"), ("peer", "llamacpp_tq2_0"))
    floor = {f"{scope}_{fmt}_{metric}": 1.0 for scope, fmt in rows
             for metric in ("bytes_per_token", "read_gb_per_s", "read_gb_per_s_min", "read_gb_per_s_max", "floor_ms",
                            "over_floor")}
    summary = benchmark_metrics(floor | {"cpu_model": "Intel(R) Xeon(R) CPU @ 2.20GHz", "threads": 2})
    assert summary == floor | {"cpu_model": "Intel(R) Xeon(R) CPU @ 2.20GHz", "threads": 2}
    assert all(family_of(name).presence is Presence.OPTIONAL for name in summary)
