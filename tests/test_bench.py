"""The benchmark's one summary of timings: the median and the interquartile range."""

import pytest

from pipeline.bench.peer import median_iqr


def test_median_and_iqr_of_an_odd_number_of_timings():
    assert median_iqr([5.0, 1.0, 3.0, 2.0, 4.0]) == (3.0, 2.0)


def test_median_and_iqr_interpolate_between_timings():
    median, iqr = median_iqr([1.0, 2.0, 3.0, 10.0])  # quartiles 1.75 and 4.75: linear interpolation
    assert median == 2.5 and iqr == pytest.approx(3.0)
    assert isinstance(median, float) and isinstance(iqr, float)


def test_one_timing_has_no_spread():
    assert median_iqr([7.5]) == (7.5, 0.0)
