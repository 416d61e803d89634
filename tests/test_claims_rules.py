"""Each rule of pipeline/analysis/claims.py on fixed numbers: a pass, a fail, and the exact edge of each
tolerance (every bound is inclusive), with tolerances chosen exact in binary so the edge is the edge.
And the registry: every claim's rule is one of the rules the module lists and documents."""

import math

import pytest

import pipeline.analysis.claims as claims_module
from pipeline.analysis.claims import (CLAIMS, RULES, AtLeast, AtMostFactor, AtMostTolerance, Band, BandWidth, Contrast,
                                      Factor, Kind, Measured, NoRule, Parity, Range, Relative, System, build_claims)
from pipeline.config import ClaimsConfig

TOL = ClaimsConfig(relative_tolerance=0.25, std_factor=2.0, glue_points_tolerance=2.0, sparsity_points_tolerance=2.0,
                   trivial_margin_points=2.0, overfit_threshold=1.25, contrast_min_gap_fraction=0.5,
                   parity_tolerance=0.125, glue_retained_min=0.5, sparsity_contrast_points=2.0,
                   gaussian_shift_points=2.0, smooth_loss_tolerance=0.125)


def _decide(rule, paper, value, std=None, n=None, alt=None):
    return rule.decide(paper, Measured(value, std, n, alt), TOL)


# --- band: relative to the paper, or GLUE points; noise cannot widen a pass ------------------------------

@pytest.mark.parametrize("value, verdict, margin", [(10.0, "reproduced", 0.0), (6.0, "reproduced", 0.0),
                                                    (9.0, "reproduced", 1.0), (10.5, "not reproduced", -0.5)])
def test_band_relative_is_a_quarter_of_the_paper_value(value, verdict, margin):
    assert tuple(_decide(Band(BandWidth.RELATIVE), 8.0, value))[::2] == (verdict, margin)  # band 0.25 x 8 = 2


@pytest.mark.parametrize("value, verdict", [(84.5, "reproduced"), (80.5, "reproduced"), (84.75, "not reproduced")])
def test_band_in_points_ignores_the_papers_size(value, verdict):
    assert _decide(Band(BandWidth.POINTS), 82.5, value).verdict == verdict


def test_band_is_uninformative_only_when_the_se_is_wider_than_the_band():
    # SE 2.0 = the band: the rule decides
    assert _decide(Band(BandWidth.RELATIVE), 8.0, 9.0, std=4.0, n=4).verdict == "reproduced"
    outcome = _decide(Band(BandWidth.RELATIVE), 8.0, 9.0, std=4.5, n=4)  # SE 2.25 > 2.0
    assert outcome.verdict == "uninformative" and outcome.margin == -0.25 and "too noisy" in outcome.reason


def test_band_text_says_its_width():
    assert Band(BandWidth.RELATIVE).text(8.0, TOL) == "|mean - paper| <= 25% of paper; SE over seeds within the band"
    assert Band(BandWidth.POINTS).text(82.5, TOL) == "|mean - paper| <= 2 points; SE over seeds within the band"


# --- factors, ratios and ranges ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, verdict, margin", [(0.5, "reproduced", 0.0), (2.0, "reproduced", 0.0),
                                                    (0.25, "not reproduced", -0.25), (4.0, "not reproduced", -2.0)])
def test_factor_both_ways(value, verdict, margin):
    assert tuple(_decide(Factor(), 1.0, value))[::2] == (verdict, margin)


@pytest.mark.parametrize("value, verdict", [(3.0, "reproduced"), (0.1, "reproduced"), (3.5, "not reproduced")])
def test_at_most_factor_lets_a_steadier_run_pass(value, verdict):
    assert _decide(AtMostFactor(), 1.5, value).verdict == verdict  # bar 1.5 x 2 = 3


@pytest.mark.parametrize("value, verdict, margin", [(5.0, "reproduced", 0.0), (3.0, "reproduced", 0.0),
                                                    (5.5, "not reproduced", -0.125)])
def test_relative_both_sides(value, verdict, margin):
    outcome = _decide(Relative(), 4.0, value)
    assert (outcome.verdict, outcome.margin) == (verdict, margin)
    assert Relative().text(4.0, TOL) == "|ours / paper - 1| <= 25%"


@pytest.mark.parametrize("value, verdict", [(1.125, "reproduced"), (0.875, "reproduced"), (1.25, "not reproduced"),
                                            (0.75, "not reproduced"), (1 / 3, "not reproduced")])
def test_parity_is_two_sided(value, verdict):
    assert _decide(Parity(), 1.0, value).verdict == verdict


@pytest.mark.parametrize("value, verdict, margin", [(58.0, "reproduced", 0.0), (64.0, "reproduced", 0.0),
                                                    (57.5, "not reproduced", -0.5), (64.5, "not reproduced", -0.5)])
def test_range_widened_by_the_points_tolerance(value, verdict, margin):
    assert tuple(_decide(Range(), (60.0, 62.0), value))[::2] == (verdict, margin)
    assert Range().text((60.0, 62.0), TOL) == "ours within [low - 2, high + 2]"


# --- directions ---------------------------------------------------------------------------------------------

def test_at_least_its_own_bar_and_not_within_two_se_of_it():
    rule = AtLeast(lambda tol: tol.sparsity_contrast_points)
    assert rule.text(0.0, TOL) == "ours >= 2"
    assert tuple(_decide(rule, 0.0, 2.0))[::2] == ("reproduced", 0.0)
    assert tuple(_decide(rule, 0.0, 1.5))[::2] == ("not reproduced", -0.5)
    assert _decide(rule, 0.0, 2.5, std=0.5, n=4).verdict == "reproduced"  # 0.5 from the bar = 2 SE: settled
    assert _decide(rule, 0.0, 2.5, std=0.6, n=4).verdict == "uninformative"


def test_contrast_needs_a_settled_sign_and_enough_of_the_gap():
    assert _decide(Contrast(), 2.5, 0.5, std=0.5, n=4, alt=1.0)[::2] == ("uninformative", None)  # |0.5| = 2 SE
    assert _decide(Contrast(), 2.5, 0.5, std=0.5, n=1, alt=1.0).verdict == "uninformative"  # no SE from 1 seed
    assert tuple(_decide(Contrast(), 2.5, 0.5, std=0.4, n=4, alt=0.5))[::2] == ("reproduced", 0.0)
    assert tuple(_decide(Contrast(), 2.5, 0.5, std=0.4, n=4, alt=0.25))[::2] == ("not reproduced", -0.25)
    worse = _decide(Contrast(), 2.5, -0.75, std=0.4, n=4, alt=-0.75)
    assert worse.verdict == "not reproduced" and "overfits more" in worse.reason


# --- architecture and dynamics -------------------------------------------------------------------------------

@pytest.mark.parametrize("memory, latency, verdict, margin", [
    (3.125, 1.125, "reproduced", 0.0), (1.875, 0.875, "reproduced", 0.0),
    (3.125, 1.25, "not reproduced", -0.125), (4.0, 1.0, "not reproduced", -0.35)])
def test_system_needs_memory_and_parity_at_once(memory, latency, verdict, margin):
    outcome = _decide(System(), 2.5, memory, alt=latency)
    assert outcome.verdict == verdict and outcome.margin == pytest.approx(margin)


@pytest.mark.parametrize("rise, verdict", [(0.125, "reproduced"), (0.0, "reproduced"), (0.25, "not reproduced"),
                                           (math.inf, "not reproduced")])
def test_at_most_tolerance(rise, verdict):
    assert _decide(AtMostTolerance(), 0.0, rise).verdict == verdict


def test_no_rule_is_never_applied():
    assert NoRule().text(None, TOL) == "-"
    with pytest.raises(ValueError, match="precondition"):
        _decide(NoRule(), None, 1.0)


# --- the registry ---------------------------------------------------------------------------------------------

def test_every_claim_has_a_rule_from_the_registry():
    for claim in CLAIMS:
        assert isinstance(claim.rule, RULES[claim.rule.name]), claim.id
        assert isinstance(claim.kind, Kind), claim.id
    assert {claim.rule.name for claim in CLAIMS} == set(RULES)  # and every rule is used


def test_the_module_docstring_documents_every_rule():
    for name in RULES:
        assert f"* ``{name}``:" in claims_module.__doc__, name


def test_claims_without_a_rule_are_decided_by_a_precondition():
    entries = {e["id"]: e for e in build_claims({}, {}, TOL)}
    for claim in CLAIMS:
        if isinstance(claim.rule, NoRule):
            assert claim.preconditions, claim.id
            assert entries[claim.id]["verdict"] == "not testable here" and entries[claim.id]["tolerance"] == "-"
