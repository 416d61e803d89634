"""Report helpers: the verdict summary pools runs, most decisive evidence first; tables format values."""

import pandas as pd

from pipeline.analysis.report import EvidenceSource, claim_details, value_text, verdicts_at_a_glance


def _claims(rows):
    base = {"description": "d", "paper_value": 1.0, "ours": 1.0, "ours_std": None, "n_seeds": 3, "ours_alt": None,
            "alt_label": "", "trivial_baseline": None, "units": "x", "tolerance": "t", "margin": 0.1}
    return pd.DataFrame([base | row for row in rows])


def test_glance_prefers_a_decided_verdict_and_names_its_run():
    here = _claims([{"id": "a", "verdict": "not comparable", "reason": "synthetic", "tested_at": "synthetic default"},
                    {"id": "b", "verdict": "reproduced", "reason": "ok", "tested_at": "architecture benchmark (132M shapes)"}])
    study = _claims([{"id": "a", "verdict": "not reproduced", "reason": "ternary overfits more",
                      "tested_at": "this CPU study"},
                     {"id": "b", "verdict": "reproduced", "reason": "ok", "tested_at": "architecture benchmark (132M shapes)"}])
    glance = verdicts_at_a_glance([EvidenceSource("this run", here), EvidenceSource("results/cpu-study", study)])
    assert list(glance["verdict"]) == ["not reproduced", "reproduced"]
    assert glance["tested at"][0] == "this CPU study [results/cpu-study]"
    assert glance["tested at"][1].endswith("[this run]")  # ties go to the first source
    assert glance["why"][0] == "ternary overfits more"


def test_details_format_mean_std_and_seeds():
    assert value_text(58.4219, 0.171, 3) == "58.42 ± 0.17 (n=3)"
    assert value_text(None) == "n/a"
    details = claim_details(_claims([{"id": "a", "verdict": "reproduced", "reason": "", "tested_at": "",
                                      "ours_alt": 2.0, "alt_label": "true PPL"}]))
    assert details.loc[0, "beside"] == "true PPL: 2" and details.loc[0, "margin"] == "+0.1"
