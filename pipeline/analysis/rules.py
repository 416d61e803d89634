"""How a claim is held against the paper's value: what a rule receives (:class:`Measured`), what it
returns (:class:`Outcome`), one class per rule (named in :data:`RULES`, documented in the claims
module's docstring), and the tests over seeds they share.

Tests over seeds use the real number of seeds: a mean over n seeds has n - 1 degrees of freedom,
and with n = 2 the two-sided 95% t quantile is 12.7, not 2. A test decides only when it rejects at
``claims.significance_level``; below ``claims.min_test_seeds`` seeds it says at most "uninformative".
Every reason that rests on a test states it (``t = -4.0, n = 2, p = 0.16``).
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import Callable, ClassVar, NamedTuple

from scipy import stats

from pipeline.config import ClaimsConfig

# Past ~300 lines for a reason: each rule is one class that decides and renders its own text, and the
# seed tests they share sit beside them, so a rule reads in one place.

PaperValue = float | tuple[float, float] | None  # a figure, a (low, high) range, or none (reference rows)


@dataclass(frozen=True)
class Measured:
    """Our value of one claim (in the paper's units), its spread over seeds and what sits beside it.
    ``samples`` are the per-seed values a test runs on (the paired differences of a contrast, one
    model's log perplexities); ``other`` the second sample of a two-sample comparison."""

    value: float | None
    std: float | None = None
    n: int | None = None
    alt: float | None = None  # the same quantity under our definition (or our other system), shown beside
    baseline: float | None = None  # the trivial baseline (GLUE) or reference level (sparsity)
    samples: tuple[float, ...] | None = None
    other: tuple[float, ...] | None = None
    interval: tuple[float, float] | None = None  # a 95% interval of the value (a bootstrap over seeds)

    @property
    def se(self) -> float | None:
        """Standard error of the mean over ``n`` seeds; None below 2 seeds or without a spread."""
        if self.std is None or self.n is None or self.n < 2 or math.isnan(self.std):
            return None
        return self.std / math.sqrt(self.n)


class Outcome(NamedTuple):
    """A verdict, its one-line reason, the margin (> 0: inside the tolerance by that much; None when
    no rule ran) and the statistics the reason cites (``evidence``: t, p, n, ...)."""

    verdict: str
    reason: str
    margin: float | None
    evidence: dict[str, float] | None = None


def _held(holds: bool, detail: str, margin: float, evidence: dict[str, float] | None = None) -> Outcome:
    """The two-way verdict of a rule whose measurement can decide."""
    return Outcome("reproduced" if holds else "not reproduced", detail, margin, evidence)


# --- tests over seeds ---------------------------------------------------------------------------------------

class TTest(NamedTuple):
    """A one-sample t-test of a mean against a reference: the statistic, two-sided p, and the seeds."""

    t: float
    p: float
    n: int

    def text(self) -> str:
        """``t = -4.0, n = 2, p = 0.16``: the test as a reason cites it."""
        return f"t = {self.t:.1f}, n = {self.n}, p = {self.p:.2g}"

    def evidence(self) -> dict[str, float]:
        """The entry's ``evidence`` field."""
        return {"t": self.t, "p": self.p, "n": self.n}


def t_test(ours: Measured, reference: float = 0.0) -> TTest | None:
    """``scipy.stats.ttest_1samp`` of the per-seed ``samples`` against ``reference`` (two-sided); from
    the mean, sample std and n where only those were kept (the same statistic). None without a spread."""
    if ours.samples is not None and len(ours.samples) >= 2:
        result = stats.ttest_1samp(ours.samples, reference)
        return TTest(float(result.statistic), float(result.pvalue), len(ours.samples))
    if ours.se is None or ours.se == 0.0:
        return None
    t = (ours.value - reference) / ours.se
    return TTest(t, float(2 * stats.t.sf(abs(t), ours.n - 1)), ours.n)


def t_half_width(ours: Measured, tol: ClaimsConfig) -> float | None:
    """Half-width of the two-sided (1 - significance_level) t interval of a mean over seeds."""
    if ours.se is None:
        return None
    return float(stats.t.ppf(1 - tol.significance_level / 2, ours.n - 1)) * ours.se


def _undecided(test: TTest, tol: ClaimsConfig, what: str) -> Outcome | None:
    """``uninformative`` when the seeds cannot decide ``what``: too few of them, or no rejection."""
    if test.n < tol.min_test_seeds:
        return Outcome("uninformative", (f"{test.n} seeds decide nothing at {tol.significance_level:g} "
                                         f"(at least {tol.min_test_seeds} needed): {what}, {test.text()}"),
                       None, test.evidence())
    if test.p >= tol.significance_level:
        return Outcome("uninformative", f"the seeds do not settle {what}: {test.text()}", None, test.evidence())
    return None


# --- rules: one class each, named as claims.json prints them -------------------------------------------

class Rule(ABC):
    """How one kind of claim is held against the paper's value under the ``claims`` tolerances. A new rule
    is one subclass, added to ``RULES`` and to the claims module docstring's list."""

    name: ClassVar[str]  # the entry's ``rule`` in claims.json

    @abstractmethod
    def text(self, paper: PaperValue, tol: ClaimsConfig) -> str:
        """The rule with its numbers filled in: the table's ``tolerance`` column."""

    @abstractmethod
    def decide(self, paper: PaperValue, ours: Measured, tol: ClaimsConfig) -> Outcome:
        """The verdict of ``ours`` (whose value is measured) against ``paper``."""


class BandWidth(Enum):
    """What a band's half-width is: a share of the paper's value, or points of a score printed x 100."""

    RELATIVE = "relative"  # relative_tolerance x |paper|
    POINTS = "points"  # glue_points_tolerance points (GLUE scores)


@dataclass(frozen=True)
class Band(Rule):
    """|our mean - paper| <= the band; ``uninformative`` when the 95% t half-width over the seeds is
    wider than the band, since noise cannot widen a pass."""

    name: ClassVar[str] = "band"
    width: BandWidth

    def half_width(self, paper: float, tol: ClaimsConfig) -> float:
        """The band around ``paper``, in the claim's units."""
        return tol.glue_points_tolerance if self.width is BandWidth.POINTS else tol.relative_tolerance * abs(paper)

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        band = (f"{tol.glue_points_tolerance:g} points" if self.width is BandWidth.POINTS
                else f"{tol.relative_tolerance:.0%} of paper")
        return f"|mean - paper| <= {band}; the t half-width over seeds within the band"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        band, gap, half = self.half_width(paper, tol), abs(ours.value - paper), t_half_width(ours, tol)
        if half is not None and half > band:
            return Outcome("uninformative", (f"too noisy to decide: the {1 - tol.significance_level:.0%} t half-width "
                                             f"over {ours.n} seeds ({half:.3g}) is wider than the band ({band:.3g})"),
                           band - half)
        return _held(gap <= band, f"|{ours.value:.4g} - {paper:g}| = {gap:.3g} vs band {band:.3g}", band - gap)


@dataclass(frozen=True)
class Factor(Rule):
    """paper / F <= ours <= paper x F, F = ``std_factor``: a spread from a few seeds is itself noisy."""

    name: ClassVar[str] = "factor"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"paper / {tol.std_factor:g} <= ours <= paper x {tol.std_factor:g}"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        value, low, high = ours.value, paper / tol.std_factor, paper * tol.std_factor
        return _held(low <= value <= high, f"{value:.3g} vs [{low:.3g}, {high:.3g}]", min(value - low, high - value))


@dataclass(frozen=True)
class AtMostFactor(Rule):
    """ours <= paper x ``std_factor``: being steadier than the paper still holds."""

    name: ClassVar[str] = "at_most_factor"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"ours <= paper x {tol.std_factor:g}"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        bar = paper * tol.std_factor
        return _held(ours.value <= bar, f"{ours.value:.3g} vs at most {bar:.3g}", bar - ours.value)


@dataclass(frozen=True)
class Relative(Rule):
    """|ours / paper - 1| <= ``relative_tolerance``: single measurements."""

    name: ClassVar[str] = "relative"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"|ours / paper - 1| <= {tol.relative_tolerance:.0%}"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        off = abs(ours.value / paper - 1.0)
        return _held(off <= tol.relative_tolerance,
                     f"{ours.value:.4g} is {off:.1%} from {paper:g} (tolerance {tol.relative_tolerance:.0%})",
                     tol.relative_tolerance - off)


@dataclass(frozen=True)
class AtLeastRelative(Rule):
    """ours >= paper x (1 - ``relative_tolerance``), one-sided: a claimed reduction that we beat holds."""

    name: ClassVar[str] = "at_least_relative"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"ours >= paper x (1 - {tol.relative_tolerance:.0%}) (one-sided)"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        bar = paper * (1.0 - tol.relative_tolerance)
        return _held(ours.value >= bar, f"{ours.value:.4g}x vs at least {bar:.4g}x ({paper:g} less "
                                        f"{tol.relative_tolerance:.0%})",
                     ours.value / paper - (1.0 - tol.relative_tolerance))


@dataclass(frozen=True)
class Parity(Rule):
    """|ours - 1| <= ``parity_tolerance``, two-sided: a 3x speed-up is not parity."""

    name: ClassVar[str] = "parity"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"|ours - 1| <= {tol.parity_tolerance:g} (two-sided)"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        off = abs(ours.value - 1.0)
        return _held(off <= tol.parity_tolerance,
                     f"ratio {ours.value:.3f}: {off:.1%} from parity (tolerance {tol.parity_tolerance:.0%}, two-sided)",
                     tol.parity_tolerance - off)


@dataclass(frozen=True)
class Range(Rule):
    """ours in [low - t, high + t] of the paper's (low, high), t = ``sparsity_points_tolerance``."""

    name: ClassVar[str] = "range"

    def text(self, paper: tuple[float, float], tol: ClaimsConfig) -> str:
        t = tol.sparsity_points_tolerance
        return f"ours within [low - {t:g}, high + {t:g}]"

    def decide(self, paper: tuple[float, float], ours: Measured, tol: ClaimsConfig) -> Outcome:
        (low, high), t, value = paper, tol.sparsity_points_tolerance, ours.value
        return _held(low - t <= value <= high + t, f"{value:.1f} vs [{low - t:g}, {high + t:g}]",
                     min(value - (low - t), (high + t) - value))


@dataclass(frozen=True)
class AtLeast(Rule):
    """ours >= the entry's bar (direction claims). A mean over seeds is t-tested against the bar and
    decided only when the test rejects; a single figure is compared as it is."""

    name: ClassVar[str] = "at_least"
    bar: Callable[[ClaimsConfig], float]  # a claims param, or a published figure

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"ours >= {self.bar(tol):g}; over seeds: t-test against the bar at p < {tol.significance_level:g}"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        bar, value = self.bar(tol), ours.value
        test = t_test(ours, bar)
        if test is None:
            return _held(value >= bar, f"{value:.3g} vs at least {bar:g}", value - bar)
        undecided = _undecided(test, tol, f"{value:.3g} against the bar {bar:g}")
        if undecided is not None:
            return undecided._replace(margin=value - bar)
        return _held(value >= bar, f"{value:.3g} vs at least {bar:g} ({test.text()})", value - bar, test.evidence())


@dataclass(frozen=True)
class IntervalAtLeast(Rule):
    """ours >= the entry's bar, decided by the value's 95% interval (a bootstrap over seeds): reproduced
    when the whole interval is at or above the bar, not reproduced when it is wholly below,
    ``uninformative`` when it straddles the bar or there is no interval (fewer than 2 seeds a model)."""

    name: ClassVar[str] = "interval_at_least"
    bar: Callable[[ClaimsConfig], float]

    def text(self, paper: PaperValue, tol: ClaimsConfig) -> str:
        return f"ours >= {self.bar(tol):g}, its 95% bootstrap interval over seeds wholly on one side"

    def decide(self, paper: PaperValue, ours: Measured, tol: ClaimsConfig) -> Outcome:
        bar, value = self.bar(tol), ours.value
        if ours.interval is None:
            return Outcome("uninformative", f"{value:.3g} vs at least {bar:g}, without an interval over seeds", None)
        low, high = ours.interval
        detail = f"{value:.3g} [{low:.3g}, {high:.3g}] vs at least {bar:g}"
        evidence = {"low": low, "high": high}
        if low >= bar:
            return Outcome("reproduced", detail, low - bar, evidence)
        if high < bar:
            return Outcome("not reproduced", detail, high - bar, evidence)
        return Outcome("uninformative", f"the interval straddles the bar: {detail}", None, evidence)


@dataclass(frozen=True)
class Contrast(Rule):
    """FP32 ratio minus ternary ratio, paired by seed (value; per-seed differences in samples), and the
    share of the twin's gap that ternary removes (alt): a two-sided one-sample t-test of the differences
    must reject at ``significance_level`` over at least ``min_test_seeds`` seeds, and the share must be
    at least ``contrast_min_gap_fraction``."""

    name: ClassVar[str] = "contrast"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return (f"paired t-test of the differences, p < {tol.significance_level:g} over >= {tol.min_test_seeds} seeds, "
                f"and gap share >= {tol.contrast_min_gap_fraction:g}")

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        diff, share, bar = ours.value, ours.alt, tol.contrast_min_gap_fraction
        test = t_test(ours)
        if test is None:
            return Outcome("uninformative", (f"FP32 minus ternary ratio {diff:+.3f} from {ours.n or 0} seed(s) without "
                                             "a spread: nothing to test its sign on"), None)
        undecided = _undecided(test, tol, f"the sign of FP32 minus ternary ratio {diff:+.3f}")
        if undecided is not None:
            return undecided
        if diff < 0:
            return Outcome("not reproduced", (f"the ternary model overfits more: its ratio is {-diff:.3f} above the "
                                              f"twin's ({test.text()}, paired)"), share - bar, test.evidence())
        holds = share >= bar
        return _held(holds, (f"ternary lowers the ratio by {diff:.3f} ({test.text()}), removing {share:.0%} of the "
                             f"twin's gap ({'at least' if holds else 'less than'} {bar:.0%})"), share - bar,
                     test.evidence())


@dataclass(frozen=True)
class Steadier(Rule):
    """The ternary model is at least as steady across seeds as its FP32 twin: one-sided F-tests of the
    two variances of log validation perplexity (samples: ternary per seed, other: the twin per seed),
    each at ``significance_level``: ``reproduced`` when ternary is significantly steadier, ``not
    reproduced`` when significantly less steady, else ``uninformative``."""

    name: ClassVar[str] = "f_test"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return (f"one-sided F-tests of var(log PPL), ternary / FP32 twin, at p < {tol.significance_level:g}, "
                f">= {tol.min_test_seeds} seeds each")

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        a, b = ours.samples or (), ours.other or ()
        n = min(len(a), len(b))
        if n < 2 or statistics.variance(b) == 0.0:
            return Outcome("uninformative", f"no spread to compare: {len(a)} / {len(b)} seeds", None)
        f = statistics.variance(a) / statistics.variance(b)
        df = (len(a) - 1, len(b) - 1)
        steadier, less = float(stats.f.cdf(f, *df)), float(stats.f.sf(f, *df))
        text = f"F = {f:.3g} (ternary / twin variance), n = {len(a)} / {len(b)}"
        evidence = {"F": f, "p_steadier": steadier, "p_less_steady": less, "n": n}
        if n < tol.min_test_seeds:
            return Outcome("uninformative", f"{n} seeds decide nothing (at least {tol.min_test_seeds} needed): {text}",
                           None, evidence)
        if steadier < tol.significance_level:
            return Outcome("reproduced", f"ternary is significantly steadier: {text}, p = {steadier:.2g}",
                           tol.significance_level - steadier, evidence)
        if less < tol.significance_level:
            return Outcome("not reproduced", f"ternary is significantly less steady: {text}, p = {less:.2g}",
                           less - tol.significance_level, evidence)
        return Outcome("uninformative", (f"the seeds do not settle which is steadier: {text}, p = {steadier:.2g} "
                                         f"(steadier) / {less:.2g} (less steady)"), None, evidence)


@dataclass(frozen=True)
class System(Rule):
    """One system has both halves: memory reduction (value) at least the paper's less
    ``relative_tolerance`` (one-sided, as :class:`AtLeastRelative`), and latency ratio (alt) within
    ``parity_tolerance`` of 1."""

    name: ClassVar[str] = "system"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return (f"reduction >= {paper:g} x (1 - {tol.relative_tolerance:.0%}) and |latency ratio - 1| <= "
                f"{tol.parity_tolerance:g}")

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        memory_margin = ours.value / paper - (1.0 - tol.relative_tolerance)
        parity_off = abs(ours.alt - 1.0)
        memory_ok, latency_ok = memory_margin >= 0, parity_off <= tol.parity_tolerance
        detail = (f"memory {ours.value:.3f}x ({'ok' if memory_ok else 'below'} {paper:g} less "
                  f"{tol.relative_tolerance:.0%}), latency ratio {ours.alt:.3f} ({parity_off:.1%} from parity, "
                  f"{'ok' if latency_ok else 'outside'})")
        return _held(memory_ok and latency_ok, detail, min(memory_margin, tol.parity_tolerance - parity_off))


@dataclass(frozen=True)
class RecipePattern(Rule):
    """A recipe regenerates the paper's pattern of ratios: the ternary model's val/train ratio (value,
    per seed in ``samples``) at most ``notebook_ternary_ratio_max`` and its FP32 baseline's (alt, per
    seed in ``other``) at least ``notebook_baseline_ratio_min``. Each half is t-tested against its bar
    over the seeds (two-sided, ``significance_level``, at least ``min_test_seeds``): the pattern holds
    when both halves hold significantly, fails when either fails significantly, and is undecided
    otherwise."""

    name: ClassVar[str] = "recipe_pattern"

    def text(self, paper: PaperValue, tol: ClaimsConfig) -> str:
        return (f"ternary ratio <= {tol.notebook_ternary_ratio_max:g} and baseline ratio >= "
                f"{tol.notebook_baseline_ratio_min:g}, each t-tested over >= {tol.min_test_seeds} seeds at "
                f"p < {tol.significance_level:g}")

    def decide(self, paper: PaperValue, ours: Measured, tol: ClaimsConfig) -> Outcome:
        halves = (("ternary", ours.value, ours.samples, tol.notebook_ternary_ratio_max, -1.0),
                  ("baseline", ours.alt, ours.other, tol.notebook_baseline_ratio_min, 1.0))
        states, details, margins, evidence = [], [], [], {}
        for name, value, samples, bar, sign in halves:
            margin = sign * (value - bar)  # > 0: on the paper's side of the bar
            test = t_test(Measured(value, samples=samples), bar) if samples else None
            if test is None or test.n < tol.min_test_seeds or test.p >= tol.significance_level:
                state = "undecided"
            else:
                state = "holds" if margin > 0 else "fails"
            side = "<=" if sign < 0 else ">="
            details.append(f"{name} {value:.3f} vs {side} {bar:g}: {state}" + (f" ({test.text()})" if test else ""))
            states.append(state)
            margins.append(margin)
            if test is not None:
                evidence |= {f"{name}_t": test.t, f"{name}_p": test.p, "n": test.n}
        detail = "; ".join(details)
        if "fails" in states:
            return Outcome("not reproduced", detail, min(margins), evidence or None)
        if states == ["holds", "holds"]:
            return Outcome("reproduced", detail, min(margins), evidence)
        return Outcome("uninformative", f"the seeds do not settle it: {detail}", None, evidence or None)


@dataclass(frozen=True)
class AtMostTolerance(Rule):
    """ours <= ``smooth_loss_tolerance``: the largest rise of the training loss between tenths."""

    name: ClassVar[str] = "at_most_tolerance"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"ours <= {tol.smooth_loss_tolerance:g}"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        bar = tol.smooth_loss_tolerance
        return _held(ours.value <= bar, f"largest rise {ours.value:.3g} vs at most {bar:g}", bar - ours.value)


@dataclass(frozen=True)
class NoRule(Rule):
    """Reference rows and claims no run here can test: a precondition decides them, never this rule."""

    name: ClassVar[str] = "none"

    def text(self, paper: PaperValue, tol: ClaimsConfig) -> str:
        return "-"

    def decide(self, paper: PaperValue, ours: Measured, tol: ClaimsConfig) -> Outcome:
        raise ValueError("a claim without a rule must be decided by one of its preconditions")


RULES: dict[str, type[Rule]] = {rule.name: rule for rule in (
    Band, Factor, AtMostFactor, Relative, AtLeastRelative, Parity, Range, AtLeast, IntervalAtLeast, Contrast,
    Steadier, System, RecipePattern, AtMostTolerance, NoRule)}
