"""Numbers as the report prints them, by unit, in one place: percent, points, MB, ms, x, GLUE scores
(x 100) and plain ratios. A measured mean is rounded to the precision of its spread (the spread to two
significant digits), a single measurement to its unit's precision, a figure the paper or a rule gives
as written (``%g``); counts are integers. Every table, summary line and figure caption of the report
formats through here, so that ``31.03 ± 0.09%`` reads the same wherever it appears."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unit:
    """How one kind of quantity prints: ``factor`` turns the stored value into the printed one (a
    fraction into %), ``digits`` significant digits of a value without a spread (at most
    ``max_decimals`` decimals), ``suffix`` after the number, ``signed`` a leading + on positives."""

    suffix: str = ""
    factor: float = 1.0
    digits: int = 4
    max_decimals: int = 2
    signed: bool = False


PLAIN = Unit()
RATIO = Unit(digits=3, max_decimals=3)
DIFFERENCE = Unit(digits=3, max_decimals=3, signed=True)
PERCENT = Unit("%")  # a value already in %
FRACTION_AS_PERCENT = Unit("%", factor=100.0, digits=2)
POINTS = Unit(" points", digits=2)
MB = Unit(" MB", max_decimals=1)
MS = Unit(" ms", digits=3)
TIMES = Unit("x", digits=3)
SCORE = Unit()  # a GLUE score x 100: 81.25
SECONDS = Unit(" s", max_decimals=1)

# The claims table's ``units`` (pipeline/analysis/claims.py) -> how the report prints them.
CLAIM_UNITS = {
    "perplexity": PLAIN, "% of mean": PERCENT, "std ratio": RATIO, "ratio": RATIO, "ratio difference": DIFFERENCE,
    "f1 x 100": SCORE, "accuracy x 100": SCORE, "mcc x 100": SCORE, "MRPC x 100": SCORE, "share": FRACTION_AS_PERCENT,
    "MB": MB, "x": TIMES, "ms/token": MS, "% zeros": PERCENT, "points": POINTS, "relative rise": FRACTION_AS_PERCENT,
    "-": PLAIN,
}


def unit_of(units: str | None) -> Unit:
    """The :class:`Unit` of a claims-table ``units`` string; an unknown one prints after the number."""
    if not units or units not in CLAIM_UNITS:
        return Unit(suffix=f" {units}" if units else "")
    return CLAIM_UNITS[units]


def present(value: Any) -> bool:
    """Whether a cell holds a number or text (JSON null arrives as None, pandas' missing as NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _decimals(value: float, digits: int, max_decimals: int) -> int:
    """Decimals that show ``digits`` significant digits of ``value``, between 0 and ``max_decimals``."""
    if value == 0 or not math.isfinite(value):
        return max_decimals
    return max(0, min(max_decimals, digits - 1 - math.floor(math.log10(abs(value)))))


def _fixed(value: float, decimals: int, unit: Unit) -> str:
    """``value`` (already scaled) with ``decimals`` decimals, thousands separated, signed if the unit is."""
    sign = "+" if unit.signed else ""
    return f"{value:{sign},.{decimals}f}"


def measured(value: Any, unit: Unit = PLAIN) -> str:
    """One measurement without a spread, to its unit's precision: ``527.7 MB``, ``2.53x``; ``n/a`` for none."""
    if not present(value):
        return "n/a"
    scaled = value * unit.factor
    return _fixed(scaled, _decimals(scaled, unit.digits, unit.max_decimals), unit) + unit.suffix


def given(value: Any, unit: Unit = PLAIN, digits: int = 4) -> str:
    """A figure as the paper or a rule states it (``%g`` to ``digits`` significant digits, no padding
    zeros): ``58.42``, ``2%``, ``60-62%`` for a (low, high) range; ``-`` where there is none."""
    if isinstance(value, (list, tuple)):
        low, high = (f"{v * unit.factor:.{digits}g}" for v in value)
        return f"{low}-{high}{unit.suffix}"
    if not present(value):
        return "-"
    sign = "+" if unit.signed and value > 0 else ""
    return f"{sign}{value * unit.factor:.{digits}g}{unit.suffix}"


def spread_decimals(std: float) -> int:
    """Decimals that show a spread to two significant digits (0.034 -> 3, 2.2 -> 1, 12 -> 0)."""
    return max(0, 1 - math.floor(math.log10(abs(std))))


def mean_spread(mean: Any, std: Any, unit: Unit = PLAIN) -> str:
    """``1.178 ± 0.034``: the mean rounded to the precision of its spread; a single value where there is
    no spread (one seed), ``(no spread)`` where the seeds agree exactly."""
    if not present(mean):
        return "n/a"
    if not present(std):
        return measured(mean, unit)
    if std == 0:
        return f"{measured(mean, unit)} (no spread)"
    decimals = min(6, spread_decimals(std * unit.factor))
    return (f"{_fixed(mean * unit.factor, decimals, unit)} ± {std * unit.factor:.{decimals}f}"
            f"{unit.suffix}")


def count(value: Any) -> str:
    """A count as an integer with thousands separators (``40,397``); ``-`` for none."""
    return f"{int(value):,}" if present(value) else "-"


def glue_score(fraction: Any) -> str:
    """A GLUE score stored as a fraction, printed x 100 like the paper: 0.8125 -> ``81.25``."""
    return measured(fraction * 100.0 if present(fraction) else None, SCORE)


def hours(cost: dict[str, Any] | None) -> str:
    """A claims-table ``cost`` as ``102-104 NVIDIA T4-hours`` (one figure when both ends agree); empty for none."""
    if not cost:
        return ""
    low, high = (f"{h:.2g}" if h < 10 else f"{h:,.0f}" for h in cost["hours"])
    return f"{low if low == high else f'{low}-{high}'} {cost['device']}"
