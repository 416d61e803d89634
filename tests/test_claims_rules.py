"""Each rule of pipeline/analysis/rules.py on fixed numbers: a pass, a fail, and the exact edge of each
tolerance (every bound is inclusive), with tolerances chosen exact in binary so the edge is the edge;
the tests over seeds against scipy's own numbers. And the registry: every claim's rule is one of the
rules the claims module lists and documents."""

import math

import pytest
from scipy import stats

import pipeline.analysis.claims as claims_module
from pipeline.analysis.claims import CLAIMS, Kind, build_claims
from pipeline.analysis.costs import Pricing
from pipeline.analysis.rules import (RULES, AtLeast, AtLeastRelative, AtMostFactor, AtMostTolerance, Band, BandWidth,
                                     Contrast, Factor, Measured, NoRule, Parity, Range, Relative, Steadier, System,
                                     t_half_width, t_test)
from pipeline.config import ClaimsConfig, parse_config
from tests.conftest import raw_params

TOL = ClaimsConfig(relative_tolerance=0.25, std_factor=2.0, glue_points_tolerance=2.0, sparsity_points_tolerance=2.0,
                   trivial_margin_points=2.0, overfit_threshold=1.25, contrast_min_gap_fraction=0.5,
                   parity_tolerance=0.125, glue_retained_min=0.5, sparsity_contrast_points=2.0,
                   gaussian_shift_points=2.0, smooth_loss_tolerance=0.125, significance_level=0.05, min_test_seeds=3,
                   min_learned_nats=0.5, min_code_change_fraction=0.125, notebook_ternary_ratio_max=1.125,
                   notebook_baseline_ratio_min=2.0, leak_min_nats=0.5, memorised_ratio=3.0,
                   overfit_measurable_ratio=1.5)


def _decide(rule, paper, value, std=None, n=None, alt=None, samples=None):
    return rule.decide(paper, Measured(value, std, n, alt, samples=samples), TOL)


# --- band: relative to the paper, or GLUE points; noise cannot widen a pass ------------------------------

@pytest.mark.parametrize("value, verdict, margin", [(10.0, "reproduced", 0.0), (6.0, "reproduced", 0.0),
                                                    (9.0, "reproduced", 1.0), (10.5, "not reproduced", -0.5)])
def test_band_relative_is_a_quarter_of_the_paper_value(value, verdict, margin):
    assert tuple(_decide(Band(BandWidth.RELATIVE), 8.0, value))[::2] == (verdict, margin)  # band 0.25 x 8 = 2


@pytest.mark.parametrize("value, verdict", [(84.5, "reproduced"), (80.5, "reproduced"), (84.75, "not reproduced")])
def test_band_in_points_ignores_the_papers_size(value, verdict):
    assert _decide(Band(BandWidth.POINTS), 82.5, value).verdict == verdict


def test_band_is_uninformative_only_when_the_t_half_width_is_wider_than_the_band():
    # 4 seeds: t(0.975, 3) = 3.182; band 2.0: the half-width reaches it at SE = 0.6285, std = 1.257
    assert t_half_width(Measured(9.0, 1.25, 4), TOL) == pytest.approx(3.182446 * 0.625)
    assert _decide(Band(BandWidth.RELATIVE), 8.0, 9.0, std=1.25, n=4).verdict == "reproduced"
    outcome = _decide(Band(BandWidth.RELATIVE), 8.0, 9.0, std=1.3, n=4)  # SE 0.65, half-width 2.07 > 2.0
    assert outcome.verdict == "uninformative" and "t half-width" in outcome.reason
    assert outcome.margin == pytest.approx(2.0 - 3.182446 * 0.65, abs=1e-5)
    assert _decide(Band(BandWidth.RELATIVE), 8.0, 9.0, std=4.0).verdict == "reproduced"  # one seed: no interval


def test_band_text_says_its_width():
    assert Band(BandWidth.RELATIVE).text(8.0, TOL) == \
        "|mean - paper| <= 25% of paper; the t half-width over seeds within the band"
    assert Band(BandWidth.POINTS).text(82.5, TOL) == "|mean - paper| <= 2 points; the t half-width over seeds within the band"


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

def test_at_least_its_own_bar_and_t_tested_over_seeds():
    rule = AtLeast(lambda tol: tol.sparsity_contrast_points)
    assert rule.text(0.0, TOL) == "ours >= 2; over seeds: t-test against the bar at p < 0.05"
    assert tuple(_decide(rule, 0.0, 2.0))[:3:2] == ("reproduced", 0.0)  # a single figure: compared as it is
    assert tuple(_decide(rule, 0.0, 1.5))[:3:2] == ("not reproduced", -0.5)
    # 4 seeds, 0.5 above the bar: SE 0.25 gives t = 2.0, p = 0.14 (2 SE called it settled); SE 0.1 gives p = 0.01
    assert _decide(rule, 0.0, 2.5, std=0.5, n=4).verdict == "uninformative"
    settled = _decide(rule, 0.0, 2.5, std=0.2, n=4)
    assert settled.verdict == "reproduced" and "t = 5.0, n = 4" in settled.reason
    assert _decide(rule, 0.0, 1.5, std=0.2, n=4).verdict == "not reproduced"
    assert _decide(rule, 0.0, 2.5, std=0.01, n=2).verdict == "uninformative"  # 2 seeds never decide


def test_t_test_matches_scipy_on_samples_and_on_summary_statistics():
    samples = (0.3, -0.1, 0.45, 0.2, 0.05)
    reference = stats.ttest_1samp(samples, 0.1)
    mean, std = sum(samples) / 5, stats.tstd(samples)
    for ours in (Measured(mean, samples=samples), Measured(mean, std, 5)):
        test = t_test(ours, 0.1)
        assert (test.t, test.p, test.n) == pytest.approx((reference.statistic, reference.pvalue, 5))


def test_contrast_needs_a_test_that_rejects_and_enough_of_the_gap():
    assert _decide(Contrast(), 2.5, 0.5, std=0.5, n=1, alt=1.0).verdict == "uninformative"  # no spread from 1 seed
    undecided = _decide(Contrast(), 2.5, 0.5, std=0.5, n=4, alt=1.0)  # t = 2.0, p = 0.14
    assert undecided.verdict == "uninformative" and "p = 0.14" in undecided.reason
    assert tuple(_decide(Contrast(), 2.5, 0.5, std=0.2, n=4, alt=0.5))[:3:2] == ("reproduced", 0.0)
    assert tuple(_decide(Contrast(), 2.5, 0.5, std=0.2, n=4, alt=0.25))[:3:2] == ("not reproduced", -0.25)
    worse = _decide(Contrast(), 2.5, -0.75, std=0.2, n=4, alt=-0.75)
    assert worse.verdict == "not reproduced" and "overfits more" in worse.reason and worse.evidence["n"] == 4
    two = _decide(Contrast(), 2.5, -0.266, samples=(-0.33207, -0.19978), alt=-0.4)  # results/cpu-study-v1, medium arm
    assert two.verdict == "uninformative" and "t = -4.0, n = 2, p = 0.16" in two.reason


def test_steadier_is_two_one_sided_f_tests():
    steady, wobbly = (0.0, 0.1, -0.1, 0.05, -0.05), (0.0, 0.4, -0.4, 0.2, -0.2)  # variance ratio 1/16
    outcome = Steadier().decide(None, Measured(0.25, samples=steady, other=wobbly), TOL)
    assert outcome.verdict == "reproduced"
    assert outcome.evidence["p_steadier"] == pytest.approx(stats.f.cdf(1 / 16, 4, 4))
    assert Steadier().decide(None, Measured(4.0, samples=wobbly, other=steady), TOL).verdict == "not reproduced"
    assert Steadier().decide(None, Measured(1.0, samples=steady, other=steady), TOL).verdict == "uninformative"
    assert Steadier().decide(None, Measured(0.25, samples=steady[:2], other=wobbly[:2]), TOL).verdict == \
        "uninformative"


# --- architecture and dynamics -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, verdict, margin", [(3.0, "reproduced", 0.0), (8.0, "reproduced", 1.25),
                                                    (2.5, "not reproduced", -0.125)])
def test_at_least_relative_is_one_sided(value, verdict, margin):
    outcome = _decide(AtLeastRelative(), 4.0, value)  # bar 4 x (1 - 0.25) = 3
    assert (outcome.verdict, outcome.margin) == (verdict, margin)


@pytest.mark.parametrize("memory, latency, verdict, margin", [
    (1.875, 1.125, "reproduced", 0.0), (5.0, 0.875, "reproduced", 0.0),
    (1.875, 1.25, "not reproduced", -0.125), (1.5, 1.0, "not reproduced", -0.15)])
def test_system_needs_memory_and_parity_at_once(memory, latency, verdict, margin):
    outcome = _decide(System(), 2.5, memory, alt=latency)  # memory at least 2.5 x 0.75 = 1.875, one-sided
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
    pricing = Pricing(parse_config(raw_params()), 1000, 100, 1000.0)
    entries = {e["id"]: e for e in build_claims({}, {}, TOL, pricing)}
    for claim in CLAIMS:
        if isinstance(claim.rule, NoRule):
            assert claim.preconditions, claim.id
            assert entries[claim.id]["verdict"] == "not testable here" and entries[claim.id]["tolerance"] == "-"


def test_recipe_pattern_needs_both_halves_to_hold_significantly():
    from pipeline.analysis.rules import RecipePattern

    rule = RecipePattern()
    holds = rule.decide(None, Measured(1.01, alt=3.5, samples=(1.0, 1.01, 1.02), other=(3.4, 3.5, 3.6)), TOL)
    assert holds.verdict == "reproduced" and holds.margin == pytest.approx(min(1.125 - 1.01, 3.5 - 2.0))
    assert holds.evidence["ternary_p"] == pytest.approx(stats.ttest_1samp((1.0, 1.01, 1.02), 1.125).pvalue)
    # the twin far above, but the ternary ratio significantly above its bar: the pattern fails
    fails = rule.decide(None, Measured(1.5, alt=3.5, samples=(1.49, 1.5, 1.51), other=(3.4, 3.5, 3.6)), TOL)
    assert fails.verdict == "not reproduced" and "ternary 1.500 vs <= 1.125: fails" in fails.reason
    # a baseline spread too wide to place it against 2.0: undecided
    wide = rule.decide(None, Measured(1.01, alt=2.5, samples=(1.0, 1.01, 1.02), other=(1.0, 2.5, 4.0)), TOL)
    assert wide.verdict == "uninformative" and "baseline 2.500 vs >= 2: undecided" in wide.reason
    # two seeds decide nothing at min_test_seeds 3
    two = rule.decide(None, Measured(1.01, alt=3.5, samples=(1.0, 1.02), other=(3.4, 3.6)), TOL)
    assert two.verdict == "uninformative"
    assert rule.text(None, TOL).startswith("ternary ratio <= 1.125 and baseline ratio >= 2")
