"""The paper's claims, our measurement of each, and the verdict: the one place that defines them.

Verdicts (each entry also carries a one-line ``reason`` and ``tested_at``, the scale it was judged at):

* ``reproduced`` / ``not reproduced``: the entry's rule, applied to our measurement.
* ``uninformative``: the measurement cannot decide. A GLUE score that does not beat the task's
  constant predictor by ``claims.trivial_margin_points`` (MRPC: always "paraphrase" scores F1 81.2
  on dev), or a seed mean whose standard error is wider than the rule's band (noise cannot widen a
  pass), or a contrast whose sign the seeds do not settle.
* ``not testable here``: a precondition of the claim does not hold in this run (no overfitting for
  the regularization contrast; an FP32 twin at its trivial baseline for transfer), or the claim
  needs a run this pipeline cannot make here; the reason says which run would test it.
* ``not comparable``: the claim is an absolute figure and this run is off the paper's scale
  (synthetic data, a smaller model, shorter training, another device).

Which claims scale decides: an *absolute* figure (a perplexity, a GLUE score, ms per token) is judged
only at the paper's scale. A claim about a *direction or ratio* (the regularization contrast, middle vs
boundary sparsity, seed spread relative to the mean, ternary GLUE relative to its FP32 twin) is
judged on real data wherever its precondition holds. *Architecture* claims (memory and latency
ratios) depend only on the 132M shapes, so the benchmark of those shapes decides them whatever data
trained the small models.

Rules (numbers from ``claims`` in params.yaml, fixed before a run is judged):

* ``band``: |our mean - paper| <= band, the band fixed (``relative_tolerance`` x paper, or
  ``glue_points_tolerance`` points); ``uninformative`` when the standard error over seeds exceeds it.
* ``factor``: paper / F <= ours <= paper x F (a spread estimated from a few seeds is itself noisy).
* ``at_most_factor``: ours <= paper x F (seed stability: being steadier than the paper still holds).
* ``relative``: |ours / paper - 1| <= ``relative_tolerance`` (single measurements).
* ``parity``: |ours - 1| <= ``parity_tolerance`` (two-sided: a 3x speed-up is not parity).
* ``range``: ours in [low - t, high + t], t = ``sparsity_points_tolerance``.
* ``at_least``: ours >= the entry's threshold (direction claims; the threshold is a claims param).
* ``contrast``: FP32 ratio minus ternary ratio, paired by seed: its sign must be settled (mean > 2 SE)
  and it must remove at least ``contrast_min_gap_fraction`` of the FP32 twin's gap (ratio - 1).
* ``system``: one system has both halves: memory reduction within ``relative_tolerance`` of the paper's
  and latency ratio within ``parity_tolerance`` of 1.
* ``at_most_tolerance``: ours <= ``smooth_loss_tolerance`` (the largest rise of the training loss
  between tenths of training).
* ``none``: a reference row, or a claim no run here can test: its precondition says which run would.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Callable, ClassVar, NamedTuple

from pipeline.bench.table import metric_key
from pipeline.config import ClaimsConfig
from pipeline.metrics import GAUSSIAN_ZERO_FRACTION, HEADLINE_METRIC, TWN_DELTA
from pipeline.paper import (NOTEBOOK_EPOCHS, NOTEBOOK_TRAIN_TOKENS, PAPER_TRAIN_STORIES, README_BERT_BASE_GLUE,
                           REPORTED as R)

# Past ~300 lines for a reason: the claims table is the one definition of every claim, beside the rules
# it names (one class each) and the preconditions its entries carry (one function each).

# Conditions of the paper's scale that a run may meet (summarize.run_context decides them).
REAL_DATA, PAPER_MODEL, PAPER_TRAINING, PAPER_DEVICE, PAPER_ARCH_BENCH = (
    "real_data", "paper_model", "paper_training", "paper_device", "paper_arch_benchmark")
MODEL_SCALE = (REAL_DATA, PAPER_MODEL, PAPER_TRAINING)
REASONS = {
    REAL_DATA: "synthetic data (the offline default), not TinyStories/GLUE",
    PAPER_MODEL: "a smaller model than the paper's 132M configuration",
    PAPER_TRAINING: "a different training recipe or length than the notebook's",
    PAPER_DEVICE: "the paper does not name the device its milliseconds come from",
    PAPER_ARCH_BENCH: "the 132M-shape benchmark did not run (benchmark.paper_arch: false)",
}
VERDICTS = ("reproduced", "not reproduced", "uninformative", "not testable here", "not comparable")

# Where each claim is printed: arXiv 2602.07374 v1 (7 Feb 2026) and v2 (27 Mar 2026) abstracts, and the
# README of the authors' repository (1nisharg/TernaryLM-Memory-Efficient-Language-Modeling).
# SST-2, CoLA, INT8 memory and all latencies appear in that README only.
README_GLUE = "README 'Downstream Transfer (GLUE)' table"
GLUE_CLAIM_ID = {"mrpc": "mrpc_f1", "sst2": "sst2_acc", "cola": "cola_mcc"}  # also the keys of paper.REPORTED
# Reference figures of other models, each with its source.
DISTILBERT_MRPC = 87.5  # Sanh et al. 2019 (arXiv 1910.01108), Table 1: GLUE dev, median of 5 seeds
DISTILBERT_SOURCE = ("DistilBERT (Sanh et al. 2019, arXiv 1910.01108) Table 1, GLUE dev set, MRPC 87.5, median of "
                     "5 runs; the table does not say accuracy or F1 (MRPC F1 is usually the higher of the two)")
# Pre-training data: DistilBERT uses BERT's corpus, BooksCorpus 800M + English Wikipedia 2,500M words
# (Devlin et al. 2019, arXiv 1810.04805, section 3.1); the notebook's log counts its 60,000 TinyStories
# stories as 12,941,776 tokens, trained for 15 epochs.
BERT_CORPUS_WORDS = 3.3e9
# The real GLUE dev sets' label counts (positive, negative), for the paper's own trivial baselines.
GLUE_DEV_LABELS = {"mrpc": (279, 129), "sst2": (444, 428), "cola": (721, 322)}
WRITINGPROMPTS_RUN = ("WritingPrompts is on the Hugging Face hub only: with network, `dvc exp run -S data.source=hub "
                      "-S data.hub.tinystories=euclaise/writingprompts -S data.hub.text_field=story` trains on it")


# --- what a rule receives and returns ----------------------------------------------------------------

PaperValue = float | tuple[float, float] | None  # a figure, a (low, high) range, or none (reference rows)


@dataclass(frozen=True)
class Measured:
    """Our value of one claim (in the paper's units), its spread over seeds and what sits beside it."""

    value: float | None
    std: float | None = None
    n: int | None = None
    alt: float | None = None  # the same quantity under our definition (or our other system), shown beside
    baseline: float | None = None  # the trivial baseline (GLUE) or reference level (sparsity)

    @property
    def se(self) -> float | None:
        """Standard error of the mean over ``n`` seeds; None below 2 seeds or without a spread."""
        if self.std is None or self.n is None or self.n < 2 or math.isnan(self.std):
            return None
        return self.std / math.sqrt(self.n)


class Outcome(NamedTuple):
    """A verdict, its one-line reason, and the margin: > 0 means inside the tolerance by that much
    (None when no rule ran)."""

    verdict: str
    reason: str
    margin: float | None


def _held(holds: bool, detail: str, margin: float) -> Outcome:
    """The two-way verdict of a rule whose measurement can decide."""
    return Outcome("reproduced" if holds else "not reproduced", detail, margin)


# --- rules: one class each, named as claims.json prints them -------------------------------------------

class Rule(ABC):
    """How one kind of claim is held against the paper's value under the ``claims`` tolerances. A new rule
    is one subclass, added to ``RULES`` and to the module docstring's list."""

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
    """|our mean - paper| <= the band; ``uninformative`` when the SE over seeds is wider than the band,
    since noise cannot widen a pass."""

    name: ClassVar[str] = "band"
    width: BandWidth

    def half_width(self, paper: float, tol: ClaimsConfig) -> float:
        """The band around ``paper``, in the claim's units."""
        return tol.glue_points_tolerance if self.width is BandWidth.POINTS else tol.relative_tolerance * abs(paper)

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        band = (f"{tol.glue_points_tolerance:g} points" if self.width is BandWidth.POINTS
                else f"{tol.relative_tolerance:.0%} of paper")
        return f"|mean - paper| <= {band}; SE over seeds within the band"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        band, gap = self.half_width(paper, tol), abs(ours.value - paper)
        if ours.se is not None and ours.se > band:
            return Outcome("uninformative", (f"too noisy to decide: the standard error over {ours.n} seeds "
                                             f"({ours.se:.3g}) is wider than the band ({band:.3g})"), band - ours.se)
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
    """ours >= the entry's bar (direction claims); ``uninformative`` within 2 SE of the bar."""

    name: ClassVar[str] = "at_least"
    bar: Callable[[ClaimsConfig], float]  # a claims param, or a published figure

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"ours >= {self.bar(tol):g}"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        bar, value = self.bar(tol), ours.value
        if ours.se is not None and abs(value - bar) < 2 * ours.se:
            return Outcome("uninformative", (f"{value:.3g} is within 2 standard errors ({2 * ours.se:.3g}) of the bar "
                                             f"{bar:g}: the seeds do not settle it"), value - bar)
        return _held(value >= bar, f"{value:.3g} vs at least {bar:g}", value - bar)


@dataclass(frozen=True)
class Contrast(Rule):
    """FP32 ratio minus ternary ratio, paired by seed (value), and the share of the twin's gap that
    ternary removes (alt): the sign must be settled (> 2 SE) and the share >= ``contrast_min_gap_fraction``."""

    name: ClassVar[str] = "contrast"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return f"mean > 2 SE and gap share >= {tol.contrast_min_gap_fraction:g}"

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        diff, se, share, bar = ours.value, ours.se, ours.alt, tol.contrast_min_gap_fraction
        if se is None or abs(diff) <= 2 * se:
            two_se = 2 * (se or float("nan"))
            return Outcome("uninformative", (f"FP32 minus ternary ratio {diff:+.3f} is within 2 standard errors "
                                             f"({two_se:.3f}): the seeds do not settle its sign"), None)
        if diff < 0:
            return Outcome("not reproduced", (f"the ternary model overfits more: its ratio is {-diff:.3f} above the "
                                              f"twin's (paired over {ours.n} seeds)"), share - bar)
        holds = share >= bar
        return _held(holds, (f"ternary lowers the ratio by {diff:.3f} (> 2 SE), removing {share:.0%} of the twin's gap "
                             f"({'at least' if holds else 'less than'} {bar:.0%})"), share - bar)


@dataclass(frozen=True)
class System(Rule):
    """One system has both halves: memory reduction (value) within ``relative_tolerance`` of the paper's,
    and latency ratio (alt) within ``parity_tolerance`` of 1."""

    name: ClassVar[str] = "system"

    def text(self, paper: float, tol: ClaimsConfig) -> str:
        return (f"|reduction / {paper:g} - 1| <= {tol.relative_tolerance:.0%} and |latency ratio - 1| <= "
                f"{tol.parity_tolerance:g}")

    def decide(self, paper: float, ours: Measured, tol: ClaimsConfig) -> Outcome:
        reduction_off, parity_off = abs(ours.value / paper - 1.0), abs(ours.alt - 1.0)
        memory_ok, latency_ok = reduction_off <= tol.relative_tolerance, parity_off <= tol.parity_tolerance
        detail = (f"memory {ours.value:.3f}x ({reduction_off:.1%} from {paper:g}, {'ok' if memory_ok else 'outside'}), "
                  f"latency ratio {ours.alt:.3f} ({parity_off:.1%} from parity, {'ok' if latency_ok else 'outside'})")
        return _held(memory_ok and latency_ok, detail,
                     min(tol.relative_tolerance - reduction_off, tol.parity_tolerance - parity_off))


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
    Band, Factor, AtMostFactor, Relative, Parity, Range, AtLeast, Contrast, System, AtMostTolerance, NoRule)}


# --- the claim entry -----------------------------------------------------------------------------------

class Kind(StrEnum):
    """What a claim is about, which decides the scale it needs (see the module docstring)."""

    ABSOLUTE = "absolute"  # a figure: judged at the paper's scale only
    DIRECTION = "direction"  # a direction or ratio: judged on real data
    ARCHITECTURE = "architecture"  # decided by the benchmark of the 132M shapes
    REFERENCE = "reference"  # decided by published figures only


# An entry's check before its rule: (verdict, reason) when it does not hold, else None.
Precondition = Callable[[dict[str, Any], Measured, ClaimsConfig], tuple[str, str] | None]


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One claim of the paper, how we measure it, and how it is judged."""

    id: str
    paper_value: PaperValue
    rule: Rule
    measure: Callable[[dict[str, Any]], Measured]
    kind: Kind
    requires: tuple[str, ...] = ()  # conditions of the paper's scale (REASONS) the rule needs
    preconditions: tuple[Precondition, ...] = ()  # checked first, in order: they also say why a value is missing
    # replaces the rule's arithmetic as the reason of a "not reproduced" (claims judged on published figures)
    failure_reason: Callable[[Measured], str] | None = None
    note: Callable[[dict[str, Any], ClaimsConfig], str] | None = None  # appended to the rule's reason
    description: str
    paper_source: str
    units: str  # how ours and the paper's value are printed
    definition: str
    alt_label: str = ""  # what ``ours_alt`` is


# --- measurements -----------------------------------------------------------------------------------------

def _get(summary: dict, key: str) -> float | None:
    """A summary value as a float; None when absent or NaN."""
    value = summary.get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _seeded(key: str, scale: float = 1.0, alt: str | None = None, baseline: str | None = None
            ) -> Callable[[dict], Measured]:
    """Our mean (and sample std over ``n_seeds``) of a summary key, times ``scale`` into paper units."""
    def measure(summary: dict) -> Measured:
        value, std = _get(summary, key), _get(summary, f"{key}_std")
        scaled = lambda x: None if x is None else x * scale  # noqa: E731
        return Measured(scaled(value), scaled(std), summary.get("n_seeds"),
                        scaled(_get(summary, alt)) if alt else None,
                        scaled(_get(summary, baseline)) if baseline else None)
    return measure


def _single(key: str, alt: str | None = None) -> Callable[[dict], Measured]:
    """One measurement (no seeds) of a summary key, with another key beside it."""
    return lambda summary: Measured(_get(summary, key), alt=_get(summary, alt) if alt else None)


def _arch(fmt: str, metric: str) -> str:
    """The summary key of one measurement of the 132M-shape benchmark (pipeline/bench/table.py)."""
    return metric_key("paper_arch", fmt, metric)


def _constant(value: float | None) -> Callable[[dict], Measured]:
    """A figure that does not depend on the run (a published number), or None for nothing measured."""
    return lambda summary: Measured(value)


def _glue_retained(task: str) -> Callable[[dict], Measured]:
    """(ternary - trivial) / (FP32 twin - trivial): the share of the twin's gain over a constant
    predictor that the ternary model keeps (1.0 = all of it)."""
    def measure(summary: dict) -> Measured:
        metric = HEADLINE_METRIC[task]
        ternary, twin = _get(summary, f"studied_{task}_{metric}"), _get(summary, f"baseline_{task}_{metric}")
        trivial = _get(summary, f"baseline_{task}_trivial_{metric}")
        if None in (ternary, twin, trivial) or twin == trivial:
            return Measured(None)
        return Measured((ternary - trivial) / (twin - trivial), n=summary.get("n_seeds"))
    return measure


def _paper_retained(task: str) -> float:
    """The README's TernaryLM / BERT-Base figures on the same scale, over the real dev set's constant
    predictor (not a twin comparison: BERT-Base is another model; shown as the paper's reference)."""
    from pipeline.metrics import trivial_baselines

    positive, negative = GLUE_DEV_LABELS[task]
    trivial = 100 * trivial_baselines([1] * positive + [0] * negative)[HEADLINE_METRIC[task]]
    ternary = R[GLUE_CLAIM_ID[task]]
    return (ternary - trivial) / (README_BERT_BASE_GLUE[task] - trivial)


def _contrast(prefix: str) -> Callable[[dict], Measured]:
    """The paired regularization contrast of the main runs (``prefix`` "") or an arm, with its gap share beside."""
    def measure(summary: dict) -> Measured:
        key = f"{prefix}regularization_contrast"
        return Measured(_get(summary, key), _get(summary, f"{key}_std"), summary.get(f"{key}_n"),
                        alt=_get(summary, f"{prefix}regularization_gap_fraction"))
    return measure


def _seed_cv(summary: dict) -> Measured:
    """std / mean over seeds, in %, of the notebook-defined PPL; beside it the same of our true PPL."""
    mean, std = _get(summary, "studied_val_ppl_smoothed"), _get(summary, "studied_val_ppl_smoothed_std")
    if mean is None or std is None:
        return Measured(None)
    true_mean, true_std = _get(summary, "studied_val_ppl"), _get(summary, "studied_val_ppl_std")
    return Measured(100 * std / mean, n=summary.get("n_seeds"),
                    alt=None if not true_mean or true_std is None else 100 * true_std / true_mean)


def _system(summary: dict) -> Measured:
    """The pure-PyTorch packed model's memory reduction (value) and latency ratio (alt)."""
    memory = _get(summary, _arch("ternary_pytorch", "weight_reduction"))
    latency = _get(summary, _arch("ternary_pytorch", "latency_over_fp32"))
    return Measured(None) if memory is None or latency is None else Measured(memory, alt=latency)


def _data_ratio(summary: dict) -> Measured:
    """BERT's corpus over the notebook's unique tokens; beside it over the tokens its epochs saw."""
    return Measured(BERT_CORPUS_WORDS / NOTEBOOK_TRAIN_TOKENS,
                    alt=BERT_CORPUS_WORDS / (NOTEBOOK_TRAIN_TOKENS * NOTEBOOK_EPOCHS))


# --- preconditions, checked before the rule -----------------------------------------------------------

def _beats_trivial(summary: dict, ours: Measured, tol: ClaimsConfig) -> tuple[str, str] | None:
    """A GLUE score must beat its constant predictor, or the classifier has learned nothing to judge."""
    if ours.baseline is None or ours.value is None:
        return None
    if ours.value < ours.baseline + tol.trivial_margin_points:
        return "uninformative", (f"{ours.value:.2f} does not beat the constant predictor's {ours.baseline:.2f} by "
                                 f"{tol.trivial_margin_points:g} points: the classifier has learned nothing measurable")
    return None


def _twin_overfits(prefix: str) -> Precondition:
    """The regularization contrast needs an FP32 twin that overfits, and seeds to pair."""
    def check(summary: dict, ours: Measured, tol: ClaimsConfig) -> tuple[str, str] | None:
        ratio = _get(summary, f"{prefix}baseline_train_val_ratio")
        if ratio is None:
            return "not testable here", "no FP32 twin in this run"
        if ratio < tol.overfit_threshold:
            return "not testable here", (f"no overfitting: the FP32 twin's val/train PPL ratio is {ratio:.3f} < "
                                         f"{tol.overfit_threshold:g}, so there is no gap for ternary weights to close")
        if (ours.n or 0) < 2:
            return "not testable here", "needs at least 2 seeds to pair"
        return None
    return check


def _twin_beats_trivial(task: str) -> Precondition:
    """Keeping the twin's GLUE quality needs a twin with quality: above its constant predictor."""
    def check(summary: dict, ours: Measured, tol: ClaimsConfig) -> tuple[str, str] | None:
        metric = HEADLINE_METRIC[task]
        twin, trivial = _get(summary, f"baseline_{task}_{metric}"), _get(summary, f"baseline_{task}_trivial_{metric}")
        if twin is None or trivial is None:
            return "not testable here", f"{task} was not fine-tuned in this run"
        if (twin - trivial) * 100 < tol.trivial_margin_points:
            return "not testable here", (f"the FP32 twin's {100 * twin:.2f} does not beat the constant predictor "
                                         f"({100 * trivial:.2f}): there is no quality to keep")
        return None
    return check


def _min_seeds(n: int) -> Precondition:
    """A spread over seeds needs at least ``n`` of them."""
    def check(summary: dict, ours: Measured, tol: ClaimsConfig) -> tuple[str, str] | None:
        return ("not testable here", f"needs {n} or more seeds") if (ours.n or 0) < n else None
    return check


def _untestable(reason: str) -> Precondition:
    """A claim no run of this pipeline tests here; ``reason`` says what would."""
    return lambda summary, ours, tol: ("not testable here", reason)


def gaussian_note(summary: dict, tol: ClaimsConfig) -> str:
    """", the weights still at the Gaussian level (31.0%)" when training has not moved the zero fraction."""
    zeros, gaussian = _get(summary, "studied_zero_pct_all"), _get(summary, "gaussian_reference_zero_pct")
    if zeros is None or gaussian is None or abs(zeros - gaussian) >= tol.gaussian_shift_points:
        return ""
    return f"; the ternary weights are still at the Gaussian level ({zeros:.1f}% zeros vs {gaussian:.1f}%)"


# --- the claims table -----------------------------------------------------------------------------------

_PPL_DEF = ("the notebook's 'perplexity': exp(label-smoothed cross-entropy, smoothing train.label_smoothing) on held-out "
            "TinyStories validation text, eval mode, mean over seeds; beside it our true perplexity (no smoothing)")
_RATIO_DEF = ("validation perplexity / training perplexity at the end of training, measured the same way on equal "
              "token counts; mean over seeds")
_MEM_DEF = ("resident weight bytes of the paper's 132M architecture (MB = 10^6 bytes) under the paper's conditions: "
            "embedding and head in full precision (fp32)")
_LAT_DEF = "batch-1 greedy decode with KV cache, median ms per generated token, paper's 132M architecture, this CPU"
_LAT_SOURCE = "README 'Per-Token Latency' (device not stated)"
_GLUE_DEF = "{metric} on the dev set (scikit-learn), mean over seeds; beside it the best constant predictor on that dev set"
_SPARSE_DEF = ("zero fraction of round(w / mean|w|) ternary codes, weighted by weight count, mean over seeds; "
               f"a Gaussian weight gives {100 * GAUSSIAN_ZERO_FRACTION:.1f}%")
_TWN_LABEL = f"TWN {TWN_DELTA} mean|w| rule"


def _span(key: str) -> str:
    """A reported range as the paper prints it: ``60-62``."""
    low, high = R[key]
    return f"{low:g}-{high:g}"


def _contrast_claim(claim_id: str, prefix: str, where: str) -> Claim:
    """Ternary weights close the FP32 twin's overfitting gap, in the main runs or one arm."""
    return Claim(
        id=claim_id, paper_value=round(R["train_val_ratio_fp32"] - R["train_val_ratio_ternary"], 2), rule=Contrast(),
        measure=_contrast(prefix), kind=Kind.DIRECTION, requires=(REAL_DATA,), preconditions=(_twin_overfits(prefix),),
        description=f"ternary weights prevent overfitting on a small corpus ({where})",
        paper_source=f"abstract (v2): {R['train_val_ratio_ternary']}x ternary vs {R['train_val_ratio_fp32']}x FP32",
        units="ratio difference",
        definition=("FP32 twin's val/train PPL ratio minus the ternary model's, paired by seed (mean, sample std); "
                    "beside it the share of the twin's gap (ratio - 1) that ternary removes (paper: 0.98)"))


def _glue_claim(task: str, name: str, source: str = README_GLUE) -> Claim:
    """The paper's GLUE score of one task, held in points against ours once ours beats the constant predictor."""
    metric = HEADLINE_METRIC[task]
    return Claim(
        id=GLUE_CLAIM_ID[task], paper_value=R[GLUE_CLAIM_ID[task]], rule=Band(BandWidth.POINTS),
        measure=_seeded(f"studied_{task}_{metric}", scale=100.0, baseline=f"studied_{task}_trivial_{metric}"),
        kind=Kind.ABSOLUTE, requires=MODEL_SCALE, preconditions=(_beats_trivial,),
        description=f"{name} after fine-tuning TernaryLM", paper_source=source, units=f"{metric} x 100",
        definition=_GLUE_DEF.format(metric=metric))


def _retained_claim(task: str) -> Claim:
    """Ternary keeps most of its FP32 twin's gain over the constant predictor on one GLUE task."""
    return Claim(
        id=f"{task}_retained_vs_twin", paper_value=round(_paper_retained(task), 3),
        rule=AtLeast(lambda tol: tol.glue_retained_min), measure=_glue_retained(task), kind=Kind.DIRECTION,
        requires=(REAL_DATA,), preconditions=(_twin_beats_trivial(task),),
        description=f"TernaryLM keeps most of its FP32 twin's {task.upper()} quality",
        paper_source=f"{README_GLUE} (TernaryLM vs BERT-Base, not a twin)", units="share",
        definition=("(ternary - constant predictor) / (FP32 twin - constant predictor) of the headline metric, means "
                    "over seeds; the paper's value uses its TernaryLM and BERT-Base rows over the real dev set's "
                    "constant predictor"))


CLAIMS: tuple[Claim, ...] = (
    # --- perplexity and its spread over seeds ---------------------------------------------------------
    Claim(id="val_ppl", paper_value=R["val_ppl"], rule=Band(BandWidth.RELATIVE),
          kind=Kind.ABSOLUTE, requires=MODEL_SCALE,
          measure=_seeded("studied_val_ppl_smoothed", alt="studied_val_ppl"), alt_label="true PPL",
          description="TinyStories validation perplexity of TernaryLM", paper_source="abstract (v1 and v2)",
          units="perplexity", definition=_PPL_DEF),
    Claim(id="val_ppl_seed_std", paper_value=R["val_ppl_seed_std"], rule=Factor(), kind=Kind.ABSOLUTE,
          requires=MODEL_SCALE, measure=_seeded("studied_val_ppl_smoothed_std"),
          description="spread of that perplexity across seeds",
          paper_source="abstract (v2): cross-seed standard deviation", units="perplexity",
          definition="sample standard deviation over seeds of the perplexity above"),
    Claim(id="val_ppl_seed_cv", paper_value=round(100 * R["val_ppl_seed_std"] / R["val_ppl"], 3), rule=AtMostFactor(),
          kind=Kind.DIRECTION, requires=(REAL_DATA,), preconditions=(_min_seeds(3),),
          measure=_seed_cv, alt_label="true PPL",
          description="training is stable across seeds: spread small relative to the mean",
          paper_source=f"abstract (v2): {R['val_ppl']} +/- {R['val_ppl_seed_std']}", units="% of mean",
          definition=("sample std / mean over seeds of the notebook-defined validation perplexity, in %; beside it "
                      "the same for our true perplexity; needs 3 or more seeds")),
    # --- overfitting: the absolute ratios, and the contrast that says ternary regularizes ---------------
    Claim(id="train_val_ratio_ternary", paper_value=R["train_val_ratio_ternary"], rule=Band(BandWidth.RELATIVE),
          kind=Kind.ABSOLUTE, requires=MODEL_SCALE, measure=_seeded("studied_train_val_ratio"),
          description="train/val generalization ratio of TernaryLM", paper_source="abstract (v2)", units="ratio",
          definition=_RATIO_DEF),
    Claim(id="train_val_ratio_fp32", paper_value=R["train_val_ratio_fp32"], rule=Band(BandWidth.RELATIVE),
          kind=Kind.ABSOLUTE, requires=MODEL_SCALE, measure=_seeded("baseline_train_val_ratio"),
          description="train/val generalization ratio of the FP32 model", paper_source="abstract (v2): FP32 baseline",
          units="ratio", definition=_RATIO_DEF),
    _contrast_claim("regularization_contrast", "", "the main runs"),
    _contrast_claim("regularization_contrast_medium", "arm_medium_training_", "the medium_training arm"),
    _contrast_claim("regularization_contrast_long", "arm_long_training_", "the long_training arm: towards memorising"),
    # --- GLUE: the paper's scores, and the share of the FP32 twin's quality ternary keeps ---------------
    _glue_claim("mrpc", "MRPC F1", source="abstract (v1, v2); " + README_GLUE),
    _glue_claim("sst2", "SST-2 accuracy"),
    _glue_claim("cola", "CoLA Matthews correlation"),
    _retained_claim("mrpc"),
    _retained_claim("sst2"),
    _retained_claim("cola"),
    # --- decided by published figures: the paper's comparisons with other models -------------------------
    Claim(id="mrpc_above_distilbert", paper_value=DISTILBERT_MRPC, rule=AtLeast(lambda tol: DISTILBERT_MRPC),
          kind=Kind.REFERENCE, measure=_constant(R["mrpc_f1"]),
          failure_reason=lambda ours: (f"as printed: the paper's {R['mrpc_f1']} is below DistilBERT's published "
                                       f"{DISTILBERT_MRPC}"),
          description=f"{R['mrpc_f1']} MRPC F1 surpasses DistilBERT",
          paper_source="abstract (v2): 'surpassing DistilBERT'", units="MRPC x 100",
          definition=f"the paper's own MRPC F1 ({R['mrpc_f1']}) held against {DISTILBERT_SOURCE}"),
    Claim(id="pretraining_data_ratio", paper_value=R["pretraining_data_ratio"], rule=Relative(), kind=Kind.REFERENCE,
          measure=_data_ratio, alt_label=f"over {NOTEBOOK_EPOCHS} epochs",
          failure_reason=lambda ours: (f"no cited count gives {R['pretraining_data_ratio']:g}x: {ours.value:.0f}x over "
                                       f"unique tokens, {ours.alt:.0f}x over the {NOTEBOOK_EPOCHS} epochs' tokens seen "
                                       "(words vs WordPiece tokens aside)"),
          description=f"with {R['pretraining_data_ratio']:g}x less pre-training data than DistilBERT",
          paper_source="abstract (v2)", units="x",
          definition=("BERT's (and DistilBERT's) corpus, 3.3B words (BooksCorpus 800M + Wikipedia 2,500M; Devlin et "
                      f"al. 2019, section 3.1) / the notebook's {NOTEBOOK_TRAIN_TOKENS:,} TinyStories tokens "
                      f"({PAPER_TRAIN_STORIES:,} stories); beside it the same over {NOTEBOOK_EPOCHS} epochs of tokens "
                      "seen")),
    Claim(id="bert_base_reference", paper_value=None, rule=NoRule(), kind=Kind.REFERENCE, measure=_constant(None),
          preconditions=(_untestable("a reference row: this pipeline fine-tunes no BERT-Base; the report's GLUE "
                                     "table shows it beside ours"),),
          description=("README GLUE row for BERT-Base: "
                       + " / ".join(f"{README_BERT_BASE_GLUE[t]}" for t in HEADLINE_METRIC)
                       + " (MRPC F1 / SST-2 acc / CoLA MCC)"),
          paper_source="README 'Downstream Transfer (GLUE)' table, BERT-Base row", units="-",
          definition="a reference row the README prints beside TernaryLM; shown in the GLUE table"),
    # --- memory of the 132M architecture ----------------------------------------------------------------
    Claim(id="memory_ternary_mb", paper_value=R["memory_ternary_mb"], rule=Relative(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_ARCH_BENCH,), alt_label="bf16 embedding/head",
          measure=_single(_arch("ternary_pytorch", "weights_mb"), alt=_arch("ternary_packed", "weights_mb")),
          description="inference memory of TernaryLM",
          paper_source="abstract (v1, v2); README 'Inference Memory (GPU)'", units="MB",
          definition=(_MEM_DEF + "; ternary block layers packed at 2 bits per weight; beside it our packed model "
                      "with a bf16 embedding and head")),
    Claim(id="memory_fp32_mb", paper_value=R["memory_fp32_mb"], rule=Relative(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_ARCH_BENCH,), alt_label="peak RSS",
          measure=_single(_arch("fp32", "weights_mb"), alt=_arch("fp32", "peak_mb")),
          description="inference memory of the FP32 model",
          paper_source="abstract (v2: FP32 of identical architecture); README labels it BERT-Base FP32", units="MB",
          definition=_MEM_DEF + "; fp32"),
    Claim(id="memory_int8_mb", paper_value=R["memory_int8_mb"], rule=Relative(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_ARCH_BENCH,), alt_label="peak RSS",
          measure=_single(_arch("int8", "weights_mb"), alt=_arch("int8", "peak_mb")),
          description="inference memory of the INT8 model",
          paper_source="README 'Inference Memory (GPU)' (BERT-Base INT8)", units="MB",
          definition=_MEM_DEF + "; PyTorch dynamic int8 linear layers"),
    Claim(id="memory_reduction", paper_value=R["memory_reduction"], rule=Relative(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_ARCH_BENCH,), alt_label="bf16 embedding/head",
          measure=_single(_arch("ternary_pytorch", "weight_reduction"),
                          alt=_arch("ternary_packed", "weight_reduction")),
          description="inference memory reduction FP32 / ternary", paper_source="abstract (v1, v2)", units="x",
          definition=("FP32 weight memory / packed ternary weight memory (fp32 embedding and head) of the 132M "
                      "architecture; beside it the same with a bf16 embedding and head")),
    # --- latency of the 132M architecture -------------------------------------------------------------
    Claim(id="latency_ternary_ms", paper_value=R["latency_ternary_ms"], rule=Relative(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_DEVICE,), alt_label="C++ kernel",
          measure=_single(_arch("ternary_pytorch", "ms_per_token"), alt=_arch("ternary_packed", "ms_per_token")),
          description="per-token latency of TernaryLM", paper_source=_LAT_SOURCE, units="ms/token",
          definition=_LAT_DEF + "; packed ternary, pure PyTorch"),
    Claim(id="latency_fp32_ms", paper_value=R["latency_fp32_ms"], rule=Relative(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_DEVICE,), measure=_single(_arch("fp32", "ms_per_token")),
          description="per-token latency of the FP32 model", paper_source=_LAT_SOURCE, units="ms/token",
          definition=_LAT_DEF + "; fp32"),
    Claim(id="latency_int8_ms", paper_value=R["latency_int8_ms"], rule=Relative(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_DEVICE,), measure=_single(_arch("int8", "ms_per_token")),
          description="per-token latency of the INT8 model", paper_source=_LAT_SOURCE, units="ms/token",
          definition=_LAT_DEF + "; dynamic int8"),
    Claim(id="latency_ratio", paper_value=round(R["latency_ternary_ms"] / R["latency_fp32_ms"], 4), rule=Parity(),
          kind=Kind.ARCHITECTURE, requires=(PAPER_ARCH_BENCH,), alt_label="C++ kernel",
          measure=_single(_arch("ternary_pytorch", "latency_over_fp32"),
                          alt=_arch("ternary_packed", "latency_over_fp32")),
          description="latency parity without specialized ternary kernels: ternary / FP32 ms per token",
          paper_source=f"README 'Per-Token Latency' ({R['latency_ternary_ms']} / {R['latency_fp32_ms']})",
          units="ratio",
          definition=("packed ternary model on the pure-PyTorch path (no custom kernel) / FP32, ms per token, 132M "
                      "architecture, same run; beside it our C++ kernel's ratio (a specialized kernel: our result, not "
                      "the paper's system)")),
    Claim(id="memory_latency_system", paper_value=R["memory_reduction"], rule=System(), kind=Kind.ARCHITECTURE,
          requires=(PAPER_ARCH_BENCH,), measure=_system, alt_label="latency ratio",
          description=(f"{R['memory_reduction']}x less memory at near-parity latency, without specialized ternary "
                       "kernels"),
          paper_source="abstract (v1, v2)", units="x",
          definition=("one system with both properties, measured against FP32 in one run: the packed model on the "
                      "pure-PyTorch path (fp32 embedding and head); memory reduction within relative_tolerance of "
                      f"{R['memory_reduction']} and latency ratio (beside) within parity_tolerance of 1")),
    # --- layer-wise sparsity: absolute ranges, then directions (each notes weights at the Gaussian level)
    Claim(id="sparsity_middle_pct", paper_value=R["sparsity_middle_pct"], rule=Range(), kind=Kind.ABSOLUTE,
          requires=MODEL_SCALE, note=gaussian_note, alt_label=_TWN_LABEL,
          measure=_seeded("studied_zero_pct_middle", alt="studied_twn_zero_pct_middle"),
          description="zero weights in the middle layers (L5-L9 of 12)", paper_source="abstract (v2): L5-L9",
          units="% zeros", definition=_SPARSE_DEF + "; layers in sparsity.middle_band"),
    Claim(id="sparsity_boundary_pct", paper_value=R["sparsity_boundary_pct"], rule=Range(), kind=Kind.ABSOLUTE,
          requires=MODEL_SCALE, note=gaussian_note, alt_label=_TWN_LABEL,
          measure=_seeded("studied_zero_pct_boundary", alt="studied_twn_zero_pct_boundary"),
          description="zero weights in the boundary layers", paper_source="abstract (v2)",
          units="% zeros", definition=_SPARSE_DEF + "; the layers outside the middle band"),
    Claim(id="sparsity_middle_vs_boundary",
          paper_value=sum(R["sparsity_middle_pct"]) / 2 - sum(R["sparsity_boundary_pct"]) / 2,
          rule=AtLeast(lambda tol: tol.sparsity_contrast_points), kind=Kind.DIRECTION, requires=(REAL_DATA,),
          note=gaussian_note, measure=_seeded("studied_zero_pct_middle_minus_boundary"),
          description="middle layers are sparser than boundary layers",
          paper_source=(f"abstract (v2): {_span('sparsity_middle_pct')}% vs {_span('sparsity_boundary_pct')}% "
                        "(midpoints)"),
          units="points",
          definition=("middle minus boundary zero percentage of the ternary codes, mean over seeds (the reason says "
                      "when the weights are still at the Gaussian level, where no layer is sparser)")),
    Claim(id="sparsity_above_gaussian",
          paper_value=sum(R["sparsity_boundary_pct"]) / 2 - round(100 * GAUSSIAN_ZERO_FRACTION, 1),
          rule=AtLeast(lambda tol: tol.gaussian_shift_points), kind=Kind.DIRECTION, requires=(REAL_DATA,),
          note=gaussian_note, measure=_seeded("studied_zero_pct_all_minus_gaussian"),
          description="training makes ternary weights sparser than a Gaussian weight",
          paper_source=(f"abstract (v2): {R['sparsity_boundary_pct'][0]:g}-{R['sparsity_middle_pct'][1]:g}% zeros in "
                        f"every layer, vs {100 * GAUSSIAN_ZERO_FRACTION:.1f}% for a Gaussian under the same rule"),
          units="points", definition="zero percentage of all ternary codes minus the Gaussian 31.0%, mean over seeds"),
    # --- training dynamics ----------------------------------------------------------------------------
    Claim(id="stable_training", paper_value=0.0, rule=AtMostTolerance(), kind=Kind.DIRECTION, requires=(REAL_DATA,),
          measure=_single("max_loss_rise_between_tenths"),
          description="stable training: smooth, monotonic loss decay (TinyStories)",
          paper_source="README 'stable training dynamics across diverse corpora'", units="relative rise",
          definition=("largest rise of the mean training loss from one tenth of training to the next, over every run "
                      "of both models (0 = monotonic); must stay within smooth_loss_tolerance; runs must end finite")),
    Claim(id="stable_training_writingprompts", paper_value=None, rule=NoRule(), kind=Kind.REFERENCE,
          measure=_constant(None), preconditions=(_untestable(WRITINGPROMPTS_RUN),),
          description="stable training on WritingPrompts too",
          paper_source="README 'stable training dynamics across diverse corpora'", units="-",
          definition="the same smoothness rule on a WritingPrompts run"),
)
CLAIM_IDS = tuple(claim.id for claim in CLAIMS)


# --- judging -----------------------------------------------------------------------------------------------

_TESTED_AT = {Kind.ARCHITECTURE: "architecture benchmark (132M shapes)", Kind.REFERENCE: "published figures"}


def rule_text(claim: Claim, tol: ClaimsConfig) -> str:
    """The entry's rule with its numbers: the table's ``tolerance`` column."""
    return claim.rule.text(claim.paper_value, tol)


def tested_at(claim: Claim, context: dict[str, Any]) -> str:
    """The scale a claim is judged at: the benchmark or published figures by kind, else the run's scale."""
    if claim.kind in _TESTED_AT:
        return _TESTED_AT[claim.kind]
    if all(context.get(need, False) for need in MODEL_SCALE):
        return "paper scale"
    return context.get("scale_label", "this run")


def _decide(claim: Claim, ours: Measured, summary: dict[str, Any], context: dict[str, Any],
            tol: ClaimsConfig) -> Outcome:
    """Preconditions first (they also say why a value is missing), then the paper's scale, then the rule,
    whose reason the entry may replace (a failure on published figures) or extend (a note)."""
    for precondition in claim.preconditions:
        unmet = precondition(summary, ours, tol)
        if unmet is not None:
            return Outcome(*unmet, None)
    missing = [REASONS[need] for need in claim.requires if not context.get(need, False)]
    if ours.value is None:
        return Outcome("not testable here", "not measured in this run" + (f": {'; '.join(missing)}" if missing else ""),
                       None)
    if missing:
        return Outcome("not comparable", "; ".join(missing), None)
    verdict, reason, margin = claim.rule.decide(claim.paper_value, ours, tol)
    if verdict == "not reproduced" and claim.failure_reason is not None:
        reason = claim.failure_reason(ours)
    if claim.note is not None:
        reason += claim.note(summary, tol)
    return Outcome(verdict, reason, margin)


def judge(claim: Claim, summary: dict, context: dict[str, Any], tol: ClaimsConfig) -> dict[str, Any]:
    """One claims-table entry: our measurement, the verdict and its one-line reason."""
    ours = claim.measure(summary)
    verdict, reason, margin = _decide(claim, ours, summary, context, tol)
    paper = claim.paper_value
    return {
        "id": claim.id, "description": claim.description, "kind": claim.kind.value,
        "paper_value": list(paper) if isinstance(paper, tuple) else paper, "paper_source": claim.paper_source,
        "ours": ours.value, "ours_std": ours.std, "n_seeds": ours.n, "ours_se": ours.se,
        "ours_alt": ours.alt, "alt_label": claim.alt_label, "trivial_baseline": ours.baseline,
        "units": claim.units, "definition": claim.definition, "rule": claim.rule.name,
        "tolerance": rule_text(claim, tol),
        "margin": margin, "verdict": verdict, "reason": reason, "tested_at": tested_at(claim, context),
    }


def build_claims(summary: dict[str, Any], context: dict[str, Any], tol: ClaimsConfig) -> list[dict[str, Any]]:
    """One entry per claim from our summary metrics and the run's context (which conditions hold)."""
    return [judge(claim, summary, context, tol) for claim in CLAIMS]
