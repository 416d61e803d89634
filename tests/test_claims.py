"""The claims table from fixed inputs: every verdict checked on both sides of its tolerance."""

import pytest

from pipeline.claims import CLAIM_IDS, CLAIMS, PAPER_DEVICE, PAPER_MODEL, PAPER_TRAINING, REAL_DATA, build_claims
from pipeline.config import ClaimsConfig

TOL = ClaimsConfig(seed_std_multiplier=2.0, relative_tolerance=0.05, std_factor=3.0, glue_points_tolerance=2.0,
                   sparsity_points_tolerance=2.0)
ALL_MET = {REAL_DATA: True, PAPER_MODEL: True, PAPER_TRAINING: True, PAPER_DEVICE: True}


def _inside_and_outside(claim):
    """Our values (in summary units) just inside and just outside the claim's tolerance."""
    paper, scale = claim.paper_value, claim.scale
    if claim.rule == "seed_band":
        return {"mean": paper * 1.049, "std": 0.0}, {"mean": paper * 1.051, "std": 0.0}
    if claim.rule == "glue_points":
        return {"mean": (paper + 1.9) / scale, "std": 0.0}, {"mean": (paper + 2.1) / scale, "std": 0.0}
    if claim.rule == "factor":
        return {"mean": paper * 2.9}, {"mean": paper * 3.1}
    if claim.rule == "at_most":
        return {"mean": paper * 0.5}, {"mean": paper * 1.06}
    if claim.rule == "relative":
        return {"mean": paper * 0.951}, {"mean": paper * 0.949}
    low, high = paper
    return {"mean": high + 1.9}, {"mean": low - 2.1}


def _summary(claim, values):
    summary = {"n_seeds": 3, claim.summary_key: values["mean"]}
    if "std" in values:
        summary[f"{claim.summary_key}_std"] = values["std"]
    return summary


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_verdict_on_both_sides_of_tolerance(claim):
    inside, outside = _inside_and_outside(claim)
    verdict_in = {e["id"]: e for e in build_claims(_summary(claim, inside), ALL_MET, TOL)}[claim.id]
    verdict_out = {e["id"]: e for e in build_claims(_summary(claim, outside), ALL_MET, TOL)}[claim.id]
    assert verdict_in["verdict"] == "reproduced"
    assert verdict_out["verdict"] == "not reproduced"


def test_seed_spread_widens_the_band():
    claim = next(c for c in CLAIMS if c.id == "val_ppl")
    summary = {"n_seeds": 3, "studied_val_ppl": 70.0, "studied_val_ppl_std": 6.0}  # 58.42 within 70 +/- 12
    assert {e["id"]: e for e in build_claims(summary, ALL_MET, TOL)}["val_ppl"]["verdict"] == "reproduced"
    summary["studied_val_ppl_std"] = 5.0  # 70 - 10 = 60 > 58.42
    assert {e["id"]: e for e in build_claims(summary, ALL_MET, TOL)}["val_ppl"]["verdict"] == "not reproduced"
    assert claim.rule == "seed_band"


def test_synthetic_data_makes_every_claim_not_comparable():
    summary = {c.summary_key: 1.0 for c in CLAIMS} | {"n_seeds": 3}
    entries = build_claims(summary, {REAL_DATA: False, PAPER_MODEL: False, PAPER_TRAINING: False}, TOL)
    assert [e["id"] for e in entries] == list(CLAIM_IDS)
    assert all(e["verdict"] == "not comparable" and "synthetic" in e["reason"] for e in entries)
    assert all(e["indicative_verdict"] in ("reproduced", "not reproduced") for e in entries)


def test_every_developers_claim_has_an_id():
    assert set(CLAIM_IDS) >= {"val_ppl", "val_ppl_seed_std", "train_val_ratio_ternary", "train_val_ratio_fp32",
                              "mrpc_f1", "sst2_acc", "cola_mcc", "memory_ternary_mb", "memory_fp32_mb",
                              "memory_reduction", "latency_ternary_ms", "latency_fp32_ms", "latency_int8_ms",
                              "sparsity_middle_pct", "sparsity_boundary_pct", "memory_int8_mb"}
