"""The judged rows behind the report's first screen (pipeline/analysis/report/verdicts.py): one source
per claim, decided claims first and real data before the benchmark and published figures, where each
claim was tested (an arm at its own epochs), the rule's bar and reason in the claim's units, and the
summary lines generated from them."""

import pandas as pd
import pytest

from pipeline.analysis.report.inputs import EvidenceSource
from pipeline.analysis.report.summary import summary_lines
from pipeline.analysis.report.verdicts import judge_all, verdict_counts
from tests.conftest import raw_params

STUDY_PARAMS = {"train": {"epochs": 20}, "claims": raw_params()["claims"],
                "arms": {"seeds": [0, 1], "run": ["medium_training"],
                         "defs": {"medium_training": {"roles": ["studied", "baseline"],
                                                      "changes": {"train.epochs": 30}}}}}
T4 = {"hours": [101.55, 103.7], "device": "NVIDIA T4-hours", "how": "..."}


def entry(claim_id: str, verdict: str, **fields) -> dict:
    """A claims-table row as claims.py writes it (the fields the report reads)."""
    base = {"id": claim_id, "verdict": verdict, "description": f"{claim_id} claim", "kind": "direction",
            "basis": "archive", "scale": "real data", "paper_value": None, "ours": None, "ours_std": None,
            "n_seeds": None, "ours_alt": None, "alt_label": "", "trivial_baseline": None, "units": "-",
            "tolerance": "-", "margin": None, "reason": "", "evidence": None, "command": None, "cost": None,
            "tested_at": "this CPU study (real data; 200 stories, dim 64, 12 layers, 20 epochs)"}
    return base | fields


STUDY = [
    entry("stable_training", "reproduced", paper_value=0.0, ours=0.0013140742705645184, units="relative rise",
          margin=0.0187, reason="largest rise 0.00131 vs at most 0.02", description="stable training: smooth decay"),
    entry("regularization_contrast_medium", "uninformative", paper_value=2.46, ours=-0.2659, ours_std=0.0935,
          n_seeds=2, units="ratio difference", description="ternary prevents overfitting (the medium_training arm)",
          reason="2 seeds decide nothing at 0.05 (at least 3 needed): the sign of FP32 minus ternary ratio -0.266, "
                 "t = -4.0, n = 2, p = 0.16", command="dvc exp run -S 'arms.seeds=[0,1,2,3,4]'",
          cost={"hours": [0.2358, 0.2358], "device": "hours of cpu (2 threads)"}),
    entry("mrpc_f1", "uninformative", kind="absolute", paper_value=82.47, ours=81.245, ours_std=0.0504, n_seeds=5,
          trivial_baseline=81.2227, units="f1 x 100", description="MRPC F1 after fine-tuning TernaryLM",
          reason="81.25 does not beat the constant predictor's 81.22 by 2 points: the classifier has learned nothing",
          command="python -m pipeline.profiles paper-code && dvc repro", cost=T4),
    entry("sst2_acc", "uninformative", kind="absolute", paper_value=88.92, ours=51.83, ours_std=1.58, n_seeds=5,
          trivial_baseline=50.92, units="accuracy x 100", description="SST-2 accuracy after fine-tuning TernaryLM",
          reason="51.83 does not beat the constant predictor's 50.92 by 2 points: the classifier has learned nothing",
          command="python -m pipeline.profiles paper-code && dvc repro", cost=T4),
    entry("val_ppl", "not comparable", kind="absolute", paper_value=58.42, ours=90.8699, ours_std=2.218, n_seeds=5,
          units="perplexity", reason="a smaller model than the paper's 132M configuration",
          command="python -m pipeline.profiles paper-code && dvc repro", cost=T4),
    entry("train_val_ratio_fp32", "not comparable", kind="absolute", paper_value=3.51, ours=1.0466, ours_std=0.012,
          n_seeds=5, units="ratio", reason="a smaller model than the paper's 132M configuration",
          command="python -m pipeline.profiles paper-code && dvc repro", cost=T4),
]
BENCHMARK = [
    entry("latency_ratio", "not reproduced", kind="architecture", basis="architecture benchmark", paper_value=0.9884,
          ours=5.116, units="ratio", margin=-4.0, description="latency parity without kernels: ternary / FP32",
          tested_at="architecture benchmark (132M shapes), on this CPU (x86_64 CPU, torch 2.13.0+cpu)",
          reason="ratio 5.116: 411.6% from parity (tolerance 10%, two-sided) (on this CPU; see the GPU entry)"),
    entry("mrpc_above_distilbert", "not reproduced", kind="reference", basis="published", paper_value=87.5,
          ours=82.47, units="MRPC x 100", margin=-5.03, tested_at="published figures",
          reason="as printed: the paper's 82.47 is below DistilBERT's published 87.5; DistilBERT's Table 1 ..."),
]
SYNTHETIC = [entry(row["id"], "not comparable", basis="this run", scale="synthetic data", n_seeds=3,
                   reason="synthetic data", tested_at="synthetic default") for row in STUDY]


def sources() -> list[EvidenceSource]:
    here = pd.DataFrame(SYNTHETIC + BENCHMARK)
    return [EvidenceSource("this run", here, params=raw_params()),
            EvidenceSource("results/cpu-study", pd.DataFrame(STUDY), 1.0, STUDY_PARAMS)]


@pytest.fixture
def rows():
    return {row.claim_id: row for row in judge_all(sources())}


def test_decided_claims_come_first_and_real_data_before_the_benchmark_and_published_figures():
    order = [(row.claim_id, row.verdict) for row in judge_all(sources())]
    assert order == [("stable_training", "reproduced"), ("latency_ratio", "not reproduced"),
                     ("mrpc_above_distilbert", "not reproduced"), ("regularization_contrast_medium", "uninformative"),
                     ("mrpc_f1", "uninformative"), ("sst2_acc", "uninformative"), ("val_ppl", "not comparable"),
                     ("train_val_ratio_fp32", "not comparable")]
    assert verdict_counts(judge_all(sources())) == {"reproduced": 1, "not reproduced": 2, "uninformative": 3,
                                                    "not testable here": 0, "not comparable": 2}


def test_the_real_data_archive_decides_and_the_synthetic_run_is_listed_beside_it(rows):
    stable = rows["stable_training"]
    assert stable.source == "results/cpu-study" and stable.basis == "archive"
    assert [(name, entry["verdict"]) for name, entry in stable.others] == [("this run", "not comparable")]


def test_where_names_the_arms_own_epochs_and_the_benchmark_device(rows):
    assert rows["stable_training"].where == "CPU study, 20 epochs"
    assert rows["regularization_contrast_medium"].where == "CPU study, 30 epochs, 2 seeds"  # not the main 20
    assert rows["latency_ratio"].where == "132M-shape benchmark, on this CPU"
    assert rows["mrpc_above_distilbert"].where == "published figures"
    assert rows["val_ppl"].where == "CPU study"  # untested: no scale claimed


def test_where_reads_an_arm_from_the_claim_id_or_the_description():
    from pipeline.analysis.report.verdicts import tested_where

    params = {"train": {"epochs": 60}, "arms": {"defs": {"w64_s1000": {"changes": {"train.epochs": 24}},
                                                         "notebook_pair": {"changes": {"train.epochs": 9}}}}}
    entry = {"verdict": "reproduced", "kind": "direction", "basis": "archive", "n_seeds": 3}
    cell = {**entry, "id": "sparsity_above_gaussian_w64_s1000", "description": "regime map cell w64_s1000"}
    pair = {**entry, "id": "notebook_recipe_pattern", "description": "the pattern (the notebook_pair arm)"}
    main = {**entry, "id": "regularization_contrast", "description": "on a small corpus"}
    assert [tested_where(e, "results/regime-map", params) for e in (cell, pair, main)] == [
        "results/regime-map, 24 epochs, 3 seeds", "results/regime-map, 9 epochs, 3 seeds",
        "results/regime-map, 60 epochs, 3 seeds"]


def test_bars_and_reasons_are_stated_in_the_claims_units(rows):
    stable = rows["stable_training"]
    assert (stable.paper, stable.ours, stable.bar, stable.why) == ("0%", "0.13%", "at most 2%", "0.13% vs at most 2%")
    assert stable.short_why == "within the bar"
    latency = rows["latency_ratio"]
    assert latency.bar == "1 ± 0.1 (parity)"
    assert latency.why == "5.12 vs 1 ± 0.1 (parity) (on this CPU; see the GPU entry)"  # the claim's note kept
    assert latency.short_why == "on this CPU; see the GPU entry"
    assert rows["mrpc_f1"].bar == "82.47 ± 2 points" and rows["val_ppl"].bar == "58.42 ± 5%"
    assert rows["mrpc_f1"].ours == "81.245 ± 0.050" and rows["val_ppl"].ours == "90.9 ± 2.2"


def test_a_reason_the_rule_does_not_reproduce_is_shown_as_written():
    odd = entry("stable_training", "reproduced", paper_value=0.0, ours=0.0013, units="relative rise", margin=0.02,
                reason="largest rise measured differently")
    (row,) = judge_all([EvidenceSource("results/cpu-study", pd.DataFrame([odd]), 1.0, STUDY_PARAMS)])
    assert row.why == "largest rise measured differently" and row.short_why == "largest rise measured differently"


def test_summary_says_what_reproduced_what_did_not_and_why_and_what_settles_the_rest():
    lines = summary_lines(judge_all(sources()))
    assert [line.heading for line in lines] == ["Reproduced (1)", "Not reproduced (2)", "Undecided (3)",
                                                "Not tested here (2); what would settle these and the undecided"]
    reproduced, failed, undecided, costs = ([linked + rest for _, linked, rest in line.items] for line in lines)
    assert reproduced == ["stable training: smooth decay (0.13% vs 0%)"]
    assert failed == ["latency parity without kernels (5.12 vs 0.9884)",
                      "mrpc_above_distilbert claim (82.47 vs 87.5): as printed: the paper's 82.47 is below DistilBERT's "
                      "published 87.5"]
    assert undecided[0] == ("ternary prevents overfitting (-0.266 ± 0.093 vs +2.46, opposite sign): "
                            "2 seeds decide nothing at 0.05")
    # the GLUE scores share one reason, said once after the last of them
    assert undecided[1] == "MRPC F1 after fine-tuning TernaryLM (81.245 ± 0.050 vs 82.47)"
    assert undecided[2].endswith("(51.8 ± 1.6 vs 88.92): no better than the dev set's constant predictor")
    assert costs[0] == "4 claims by `python -m pipeline.profiles paper-code && dvc repro`: 102-104 NVIDIA T4-hours"
    assert costs[1] == "1 claim by `dvc exp run -S 'arms.seeds=[0,1,2,3,4]'`: 0.24 hours of cpu (2 threads)"
    assert lines[0].items[0][0] == "stable_training"  # each item links to its claim's evidence row
