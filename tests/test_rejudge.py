"""The re-judge command (pipeline/analysis/rejudge.py) on a copy of the first CPU study
(results/cpu-study-v1): the summary recomputed from the archive's own files, the corpus rebuilt and
checked, claims.json rewritten in one atomic step, every changed verdict reported; and a second run
changes nothing."""

import json
import shutil

import pytest
import yaml

from pipeline.analysis.rejudge import archive_config, check_same_corpus, main, rejudge
from pipeline.errors import InputError
from tests.conftest import PROJECT_ROOT

STUDY = PROJECT_ROOT / "results" / "cpu-study-v1"
# The archive's verdicts as the rules before issue 21 gave them (its reports/claims.json at commit 143c630).
BEFORE = {"val_ppl": "not comparable", "val_ppl_seed_std": "not comparable", "val_ppl_seed_cv": "not reproduced",
          "train_val_ratio_ternary": "not comparable", "train_val_ratio_fp32": "not comparable",
          "regularization_contrast": "not testable here", "regularization_contrast_medium": "not reproduced",
          "regularization_contrast_long": "not reproduced", "mrpc_f1": "uninformative", "sst2_acc": "uninformative",
          "cola_mcc": "uninformative", "mrpc_retained_vs_twin": "not testable here",
          "sst2_retained_vs_twin": "not testable here", "cola_retained_vs_twin": "not testable here",
          "mrpc_above_distilbert": "not reproduced", "pretraining_data_ratio": "not reproduced",
          "bert_base_reference": "not testable here", "memory_ternary_mb": "not reproduced",
          "memory_fp32_mb": "not reproduced", "memory_int8_mb": "not reproduced", "memory_reduction": "not reproduced",
          "latency_ternary_ms": "not comparable", "latency_fp32_ms": "not comparable", "latency_int8_ms": "not comparable",
          "latency_ratio": "not reproduced", "memory_latency_system": "not reproduced",
          "sparsity_middle_pct": "not comparable", "sparsity_boundary_pct": "not comparable",
          "sparsity_middle_vs_boundary": "not reproduced", "sparsity_above_gaussian": "not reproduced",
          "stable_training": "reproduced", "stable_training_writingprompts": "not testable here"}
EXPECTED = {  # claim: (old verdict, new verdict), from the archive as committed before issue 21
    "val_ppl_seed_cv": ("not reproduced", "not comparable"),
    "val_ppl_seed_steadier_than_twin": (None, "reproduced"),
    "regularization_contrast_medium": ("not reproduced", "uninformative"),
    "regularization_contrast_long": ("not reproduced", "uninformative"),
    "memory_ternary_mb": ("not reproduced", "not comparable"),
    "memory_fp32_mb": ("not reproduced", "not comparable"),
    "memory_int8_mb": ("not reproduced", "not comparable"),
    "memory_reduction": ("not reproduced", "reproduced"),
    "latency_ratio_paper_device": (None, "not testable here"),
    "sparsity_middle_pct": ("not comparable", "not testable here"),
    "sparsity_boundary_pct": ("not comparable", "not testable here"),
    "sparsity_middle_vs_boundary": ("not reproduced", "not testable here"),
    "sparsity_above_gaussian": ("not reproduced", "not testable here"),
    # the entries issue 22 added: the CPU study ran none of their arms
    "notebook_recipe_pattern": (None, "not testable here"),
    "regularization_contrast_fixed_recipe": (None, "not testable here"),
    "regularization_contrast_w64_s1000": (None, "not testable here"),
    "regularization_contrast_w128_s200": (None, "not testable here"),
    "regularization_contrast_w128_s1000": (None, "not testable here"),
    # issue 23's transfer entries: the CPU study ran no from-scratch control
    **{f"{task}_pretraining_transfers_{model}": (None, "not testable here") for task in ("mrpc", "sst2", "cola")
       for model in ("ternary", "fp32")},
    # issue 22's sparsity entries per longer run set: the CPU study ran none of the regime arms, and its
    # learned-scale arm predates the measured code change
    **{f"sparsity_{which}_{arm}": (None, "not testable here") for which in ("middle_vs_boundary", "above_gaussian")
       for arm in ("w64_s1000", "w128_s200", "w128_s1000", "notebook_pair", "notebook_fixed", "learned_scale")},
}


@pytest.fixture
def archive(tmp_path):
    if not (PROJECT_ROOT.parent / "shared" / "data").is_dir():
        pytest.skip("real data not found beside the checkout")
    folder = tmp_path / "results" / "cpu-study"
    shutil.copytree(STUDY, folder)
    (folder / "reports/claims.json").write_text(json.dumps([{"id": k, "verdict": v} for k, v in BEFORE.items()]))
    return folder


def test_rejudging_the_cpu_study_changes_exactly_these_verdicts(archive):
    found, added = rejudge(archive, PROJECT_ROOT)
    assert {c.id: (c.old, c.new) for c in found} == EXPECTED
    assert added == ["significance_level", "min_test_seeds", "min_learned_nats", "min_code_change_fraction",
                     "notebook_ternary_ratio_max", "notebook_baseline_ratio_min", "leak_min_nats", "memorised_ratio",
                     "overfit_measurable_ratio", "matched_loss_max_nats"]
    claims = json.loads((archive / "reports/claims.json").read_text())
    assert {entry["basis"] for entry in claims} == {"archive", "architecture benchmark", "published"}
    assert not list((archive / "reports").glob(".*.tmp"))  # written through a temporary file, renamed in
    regimes = (archive / "metrics/regime_map.csv").read_text().splitlines()  # the regime map by the current code
    assert regimes[0].startswith("cell,run_set,width") and len(regimes) == 1 + 3  # main and the two paired arms
    assert rejudge(archive, PROJECT_ROOT)[0] == []  # judged by the current rules: nothing left to change


def test_the_command_line_prints_the_changes_and_dry_run_writes_nothing(archive, capsys, monkeypatch):
    before = (archive / "reports/claims.json").read_bytes()
    monkeypatch.chdir(PROJECT_ROOT)
    main([str(archive), "--dry-run"])
    out = capsys.readouterr().out
    assert (archive / "reports/claims.json").read_bytes() == before and "would rewrite" in out
    assert "no verdict changed" in out or "| `memory_reduction` |" in out


def test_the_archives_own_thresholds_win(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        yaml.safe_load((STUDY / "params.yaml").read_text()) | {"claims": {**yaml.safe_load(
            (STUDY / "params.yaml").read_text())["claims"], "overfit_threshold": 1.5}}))
    cfg, added = archive_config(tmp_path, PROJECT_ROOT / "params.yaml")
    assert cfg.claims.overfit_threshold == 1.5 and cfg.claims.min_learned_nats == 0.5
    assert "min_learned_nats" in added and "overfit_threshold" not in added


def test_a_corpus_that_changed_is_refused():
    tokens = json.loads((STUDY / "metrics/tokens.json").read_text())
    check_same_corpus(tokens, dict(tokens))
    with pytest.raises(InputError, match="train_fingerprint"):
        check_same_corpus(tokens, tokens | {"train_fingerprint": "0000"})
