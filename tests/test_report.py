"""Report helpers: the verdict summary pools runs, most decisive evidence first; tables format values."""

import pandas as pd

from pipeline.analysis.report.inputs import EvidenceSource
from pipeline.analysis.report.prose import machine_note, scale_banner
from pipeline.analysis.report.tables import claim_details, shared_reasons, value_text, verdicts_at_a_glance


def _claims(rows):
    base = {"description": "d", "paper_value": 1.0, "ours": 1.0, "ours_std": None, "n_seeds": 3, "ours_alt": None,
            "alt_label": "", "trivial_baseline": None, "units": "x", "tolerance": "t", "margin": 0.1}
    return pd.DataFrame([base | row for row in rows])


def test_glance_takes_real_data_over_the_synthetic_run_and_names_its_source():
    here = _claims([{"id": "a", "verdict": "not comparable", "reason": "synthetic", "tested_at": "synthetic default"},
                    {"id": "b", "verdict": "reproduced", "reason": "ok", "tested_at": "architecture benchmark (132M shapes)"}])
    study = _claims([{"id": "a", "verdict": "not reproduced", "reason": "ternary overfits more",
                      "tested_at": "this CPU study (real data)"},
                     {"id": "b", "verdict": "reproduced", "reason": "ok", "tested_at": "architecture benchmark (132M shapes)"}])
    glance = verdicts_at_a_glance([EvidenceSource("this run", here), EvidenceSource("results/cpu-study", study)])
    assert list(glance["verdict"]) == ["not reproduced", "reproduced"]
    assert glance["tested at"][0] == "this CPU study (real data) [results/cpu-study]"
    assert glance["why"][0] == "ternary overfits more"


def test_glance_orders_evidence_by_verdict_then_scale():
    here = _claims([{"id": "a", "verdict": "not testable here", "reason": "no overfitting", "tested_at": "synthetic default"},
                    {"id": "b", "verdict": "not reproduced", "reason": "small", "tested_at": "synthetic default"},
                    {"id": "c", "verdict": "not comparable", "reason": "off scale", "tested_at": "synthetic default"}])
    study = _claims([{"id": "a", "verdict": "uninformative", "reason": "noisy", "tested_at": "this CPU study (real data)"},
                     {"id": "b", "verdict": "reproduced", "reason": "real", "tested_at": "this CPU study (real data)"}])
    paper = _claims([{"id": "b", "verdict": "not reproduced", "reason": "at scale", "tested_at": "paper scale"}])
    glance = verdicts_at_a_glance([EvidenceSource("this run", here), EvidenceSource("results/cpu-study", study),
                                   EvidenceSource("results/paper", paper)])
    assert list(glance["verdict"]) == ["uninformative", "not reproduced", "not comparable"]
    # a decided verdict at paper scale beats one on real data, which beats the synthetic run's
    assert list(glance["why"]) == ["noisy", "at scale", "off scale"]
    assert glance["tested at"].tolist() == ["this CPU study (real data) [results/cpu-study]",
                                           "paper scale [results/paper]", "synthetic default [this run]"]


def test_shared_reasons_become_note_keys():
    glance = pd.DataFrame({"why": ["synthetic", "own reason", "synthetic", "hub only", "hub only"]})
    short, notes = shared_reasons(glance)
    assert short["why"].tolist() == ["[A]", "own reason", "[A]", "[B]", "[B]"]
    assert notes == {"[A]": "synthetic", "[B]": "hub only"}


def test_details_format_mean_std_and_seeds():
    assert value_text(58.4219, 0.171, 3) == "58.42 ± 0.17 (n=3)"
    assert value_text(None) == "n/a"
    details = claim_details(_claims([{"id": "a", "verdict": "reproduced", "reason": "", "tested_at": "",
                                      "ours_alt": 2.0, "alt_label": "true PPL"}]))
    assert details.loc[0, "beside"] == "true PPL: 2" and details.loc[0, "margin"] == "+0.1"


def test_details_show_ranges_constant_predictors_and_empty_cells():
    claims = _claims([{"id": "s", "verdict": "not reproduced", "reason": "", "paper_value": [60, 62], "ours": 31.03,
                       "ours_std": 0.09, "n_seeds": 5, "margin": -28.97},
                      {"id": "g", "verdict": "uninformative", "reason": "", "paper_value": 82.47, "ours": 81.25,
                       "n_seeds": 5, "ours_alt": 0.5, "alt_label": "", "trivial_baseline": 81.22, "margin": None}])
    details = claim_details(claims).set_index("id")
    assert details.loc["s", "paper"] == "60-62" and details.loc["s", "ours"] == "31.03 ± 0.09 (n=5)"
    assert details.loc["s", "margin"] == "-29" and details.loc["s", "beside"] == ""
    assert details.loc["s", "constant predictor"] == ""
    assert details.loc["g", "constant predictor"] == "81.22" and details.loc["g", "beside"] == "alt: 0.5"
    assert details.loc["g", "margin"] == "" and details.loc["g", "ours"] == "81.25 (n=5)"


def test_banner_and_machine_note_follow_the_run_facts():
    assert scale_banner({"run_real_data": False}).startswith("**Synthetic data.**")
    assert scale_banner({"run_real_data": True, "run_paper_model": True}).startswith("**Small-scale run")
    assert scale_banner({"run_real_data": True, "run_paper_model": True, "run_paper_training": True}).startswith(
        "**Paper-scale run")
    assert machine_note({}) == "CPU load was not sampled (no /proc/stat)."
    assert machine_note({"cpu_busy_before": 0.0, "cpu_busy_after": 0.02, "machine_idle": True}) == \
        "Machine idle (other work used 0% of the CPU before timing, 2% after)."
    assert "busy" in machine_note({"cpu_busy_before": 0.4, "cpu_busy_after": 0.3, "machine_idle": False})
