"""Numbers by unit, in one place (pipeline/analysis/report/format.py): percent, points, MB, ms, x and
GLUE x 100; a mean to the precision of its spread; counts as integers; costs as hours."""

import math

from pipeline.analysis.report import format as fmt


def test_a_single_measurement_prints_to_its_units_precision():
    assert fmt.measured(527.686, fmt.MB) == "527.7 MB" and fmt.measured(209.0, fmt.MB) == "209.0 MB"
    assert fmt.measured(2.52508, fmt.TIMES) == "2.53x" and fmt.measured(255.0, fmt.TIMES) == "255x"
    assert fmt.measured(102.34, fmt.MS) == "102 ms" and fmt.measured(3.184, fmt.MS) == "3.18 ms"
    assert fmt.measured(0.0013141, fmt.FRACTION_AS_PERCENT) == "0.13%"  # the stable-training rise
    assert fmt.measured(2.441, fmt.PERCENT) == "2.44%" and fmt.measured(1.111, fmt.FRACTION_AS_PERCENT) == "111%"
    assert fmt.measured(None) == "n/a" and fmt.measured(math.nan, fmt.MB) == "n/a"
    assert fmt.measured(-0.131, fmt.DIFFERENCE) == "-0.131" and fmt.measured(0.02, fmt.DIFFERENCE) == "+0.020"


def test_a_mean_is_rounded_to_the_precision_of_its_spread():
    assert fmt.mean_spread(-0.02408, 0.14, fmt.DIFFERENCE) == "-0.02 ± 0.14"
    assert fmt.mean_spread(90.8699, 2.218) == "90.9 ± 2.2"
    assert fmt.mean_spread(1.17789, 0.0336, fmt.RATIO) == "1.178 ± 0.034"
    assert fmt.mean_spread(31.030, 0.0860, fmt.PERCENT) == "31.030 ± 0.086%"
    assert fmt.mean_spread(224.5, 12.3) == "224 ± 12"
    assert fmt.mean_spread(75.97, 0.0) == "75.97 (no spread)"  # never "± 0"
    assert fmt.mean_spread(2.0, None, fmt.TIMES) == "2.00x" and fmt.mean_spread(None, 1.0) == "n/a"


def test_given_figures_print_as_stated_and_ranges_keep_their_unit():
    assert fmt.given(58.42) == "58.42" and fmt.given(0.02, fmt.FRACTION_AS_PERCENT) == "2%"
    assert fmt.given([60.0, 62.0], fmt.PERCENT) == "60-62%" and fmt.given((45, 55), fmt.PERCENT) == "45-55%"
    assert fmt.given(2.46, fmt.DIFFERENCE) == "+2.46" and fmt.given(11.0, fmt.POINTS) == "11 points"
    assert fmt.given(None) == "-" and fmt.given(math.nan) == "-"
    assert fmt.given(0.056667, digits=3) == "0.0567"


def test_counts_glue_scores_costs_and_units():
    assert fmt.count(5.0) == "5" and fmt.count(40397) == "40,397" and fmt.count(None) == "-"
    assert fmt.glue_score(0.81245) == "81.25" and fmt.glue_score(0.0) == "0.00" and fmt.glue_score(None) == "n/a"
    assert fmt.hours({"hours": [101.55, 103.7], "device": "NVIDIA T4-hours"}) == "102-104 NVIDIA T4-hours"
    assert fmt.hours({"hours": [0.3144, 0.3144], "device": "CPU-hours"}) == "0.31 CPU-hours"
    assert fmt.hours(None) == ""
    assert fmt.unit_of("f1 x 100") is fmt.SCORE and fmt.unit_of("relative rise") is fmt.FRACTION_AS_PERCENT
    assert fmt.measured(3.0, fmt.unit_of("furlongs")) == "3.00 furlongs"
