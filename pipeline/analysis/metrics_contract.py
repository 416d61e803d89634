"""The metrics contract: every name summarize writes into ``metrics/summary.json`` and
``metrics/arms.json``, declared once, with the file it goes to, whether every run writes it, and
what it means. The claims (:class:`Metrics`) and the report (through ``runsets.aggregate_key``) read
those files by declared name only, so a misspelt or undeclared name raises
:class:`UndeclaredMetricError` naming it instead of reading back as a silent None (which the claims
table would have printed as "not testable here").

A declaration is a :class:`Family`: a template over typed slots (``{role}_{run_metric}``: the roles
times the run metrics), each slot a closed list of values except an arm's name (any identifier, as
params.yaml defines arms). ``required`` families are written by every run, for the GLUE tasks its
params name; ``optional`` ones only where the run has the part they measure: arms, llama.cpp (the
``peer`` scope), CUDA (``cuda_*`` formats), the 132M-shape benchmark, the sparsity stage's code change.
:func:`check_written` holds summarize to the contract before anything is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import product
from typing import Any

from pipeline.analysis.runsets import (GLUE_METRICS, LEAK_METRICS, RETAINED_PARTS, RUN_METRICS, SEED_METRICS,
                                       TIMING_METRICS, ZERO_METRICS, UndeclaredMetricError)
from pipeline.bench.table import FORMAT_LABELS, UNITS
from pipeline.config import ROLES
from pipeline.metrics import HEADLINE_METRIC

# Conditions of the paper's scale that a run may meet (summarize.run_context decides them); summary.json
# holds each as ``run_<condition>``.
REAL_DATA, PAPER_MODEL, PAPER_TRAINING, PAPER_DEVICE, PAPER_ARCH_BENCH = (
    "real_data", "paper_model", "paper_training", "paper_device", "paper_arch_benchmark")
CONTEXT_KEYS = (REAL_DATA, PAPER_MODEL, PAPER_TRAINING, PAPER_DEVICE, PAPER_ARCH_BENCH, "recipe", "recipe_mismatches",
                "scale_label", "bench_device")

BENCH_SCOPES = ("trained", "paper_arch", "peer")
# benchmark.json's settings and machine facts that summarize copies beside the measurements
BENCH_SETTINGS = ("decode_tokens", "prompt_tokens", "repeats", "threads", "cpu_count", "cpu_model", "cpu_busy_before",
                  "cpu_busy_after", "machine_idle", "peer_ffn_hidden", "peer_rounds")
_IDENTIFIER = r"[A-Za-z0-9_]+?"


class Presence(StrEnum):
    REQUIRED = "required"  # every run writes it
    OPTIONAL = "optional"  # only where the run has the part it measures


class MetricsFile(StrEnum):
    SUMMARY = "summary"  # metrics/summary.json
    ARMS = "arms"  # metrics/arms.json


class MissingMetricError(KeyError):
    """A required metric that summarize did not write."""

    def __str__(self) -> str:
        return f"required metric(s) missing from {self.args[1]}.json: {', '.join(self.args[0][:5])}"


@dataclass(frozen=True)
class Family:
    """One declaration: the names ``template`` spells over its slots (:data:`SLOTS`), each with the
    ``suffixes`` written beside it (``_std``: the sample std beside a mean over seeds)."""

    template: str
    presence: Presence
    file: MetricsFile
    meaning: str
    suffixes: tuple[str, ...] = ("",)

    def slots(self) -> list[str]:
        """The slot names of the template, in order."""
        return re.findall(r"\{(\w+)\}", self.template)

    def pattern(self) -> re.Pattern[str]:
        """The regular expression of every name the family declares."""
        regex = re.escape(self.template)
        for slot in self.slots():
            values = SLOTS[slot]
            alternatives = _IDENTIFIER if values is None else "|".join(
                re.escape(v) for v in sorted(values, key=len, reverse=True))
            regex = regex.replace(re.escape("{" + slot + "}"), f"(?:{alternatives})", 1)
        suffixes = "|".join(re.escape(suffix) for suffix in self.suffixes)
        return re.compile(f"{regex}(?:{suffixes})")

    def names(self, values: Mapping[str, Sequence[str]]) -> list[str]:
        """Every name over the slot ``values`` (a slot not given takes its declared values)."""
        slots = self.slots()
        combos = product(*(values.get(slot) or SLOTS[slot] or () for slot in slots))
        return [self.template.format(**dict(zip(slots, combo))) + suffix
                for combo in combos for suffix in self.suffixes]


SLOTS: dict[str, tuple[str, ...] | None] = {
    "role": ROLES, "run_metric": RUN_METRICS, "timing_metric": TIMING_METRICS, "seed_metric": SEED_METRICS,
    "task": tuple(HEADLINE_METRIC), "glue_metric": GLUE_METRICS, "zero_metric": ZERO_METRICS,
    "leak_metric": LEAK_METRICS, "retained_part": RETAINED_PARTS,
    "condition": CONTEXT_KEYS, "scope": BENCH_SCOPES, "format": tuple(FORMAT_LABELS), "bench_metric": tuple(UNITS),
    "setting": BENCH_SETTINGS, "arm": None,
}
_MEAN_STD = ("", "_std")
_R, _O, _S, _A = Presence.REQUIRED, Presence.OPTIONAL, MetricsFile.SUMMARY, MetricsFile.ARMS

CONTRACT: tuple[Family, ...] = (
    # --- the run and its corpus --------------------------------------------------------------------------
    Family("data_source", _R, _S, "synthetic | local | hub (tokens.json)"),
    Family("n_seeds", _R, _S, "how many seeds the main runs have (train.seeds)"),
    Family("seeds", _R, _S, "the main runs' seeds, in the order of every *_per_seed list"),
    Family("studied_quant", _R, _S, "the studied model's quantizer (model.quant)"),
    Family("train_tokens", _R, _S, "tokens in the training split, per epoch (tokens.json)"),
    Family("val_tokens", _R, _S, "tokens in the validation split (tokens.json)"),
    Family("vocab_size", _R, _S, "the tokenizer's vocabulary (tokens.json)"),
    Family("unigram_val_nats", _R, _S, "validation NLL (nats per token) of the add-one unigram predictor of the "
                                       "training split: the bar a model that learned something must clear"),
    Family("run_{condition}", _R, _S, "which of the paper's conditions the run meets (summarize.run_context)"),
    # --- the main runs, per role: mean and sample std over seeds, and per seed where a test needs it ---------
    Family("{role}_{run_metric}", _R, _S, "a run metric (metrics.json), mean over seeds", _MEAN_STD),
    Family("{role}_{timing_metric}", _R, _S, "training tokens per second (timing.json), mean over seeds", _MEAN_STD),
    Family("{role}_{seed_metric}_per_seed", _R, _S, "a run metric per seed, in the order of ``seeds``"),
    Family("{role}_{task}_{glue_metric}", _R, _S, "a GLUE dev score (glue.json), mean over seeds; required for "
                                                  "glue.tasks", _MEAN_STD),
    Family("glue_seeds", _O, _S, "the pre-trained seeds fine-tuned on GLUE (glue.seeds; every main seed where the "
                                 "params predate it), in the order of every GLUE *_per_seed list"),
    Family("{role}_{task}_{glue_metric}_per_seed", _O, _S, "a GLUE dev score per seed, in the order of ``glue_seeds``"),
    Family("scratch_{role}_{task}_{glue_metric}", _O, _S, "the no-pretraining control: the role's architecture from "
                                                          "its initial weights, fine-tuned identically (glue.scratch_"
                                                          "seeds), mean over seeds", (*_MEAN_STD, "_per_seed")),
    Family("bow_{task}_{glue_metric}", _O, _S, "the bag-of-words reference: logistic regression on token counts "
                                               "(metrics/glue_bow.json)"),
    Family("{role}_{task}_transfer", _O, _S, "pre-trained minus from-scratch headline GLUE score, paired by seed",
           (*_MEAN_STD, "_n", "_per_seed")),
    Family("{task}_retained_{retained_part}", _O, _S, "the share of the FP32 twin's headline gain over the constant "
                                                      "predictor that ternary keeps (means over seeds), and its 95% "
                                                      "percentile bootstrap interval over seeds"),
    Family("{role}_{zero_metric}", _R, _S, "zero-code percentage (sparsity.json), mean over seeds, and per seed",
           (*_MEAN_STD, "_per_seed")),
    Family("{role}_{leak_metric}", _O, _S, "the leak probe of a baseline trained without the causal mask: "
                                           "validation loss with the mask imposed minus without (nats), mean over "
                                           "seeds; only where the main baseline is maskless", (*_MEAN_STD, "_per_seed")),
    Family("gaussian_reference_zero_pct", _R, _S, "zero percentage a Gaussian weight gives under our rule"),
    Family("studied_code_change_fraction", _O, _S, "share of ternary codes that differ from their initialisation, "
                                                   "mean over seeds of sparsity.json's studied_seed_<s>_code_change_"
                                                   "fraction (absent in archives made before it was measured)"),
    Family("regularization_contrast", _R, _S, "FP32 minus ternary val/train PPL ratio, paired by seed",
           (*_MEAN_STD, "_n", "_per_seed")),
    Family("regularization_gap_fraction", _R, _S, "the share of the FP32 twin's gap (ratio - 1) ternary removes"),
    Family("matched_val_gap", _O, _S, "ternary minus FP32 twin validation loss at matched training loss "
                                      "(pipeline/analysis/regimes.py), mean over seeds of each seed's mean; only "
                                      "where some point can be matched",
           (*_MEAN_STD, "_per_seed", "_points", "_ternary_lower")),
    Family("max_loss_rise_between_tenths", _R, _S, "largest relative rise of the mean training loss between "
                                                   "tenths of a run, over every main run"),
    Family("min_loss_fall_nats", _R, _S, "smallest fall of the mean training loss from the first tenth of a run "
                                         "to the last (nats), over every main run"),
    # --- the benchmark (benchmark.json): optional, as its scopes and formats depend on the machine -------------
    Family("{scope}_{format}_{bench_metric}", _O, _S, "one benchmark measurement (pipeline/bench/table.py)"),
    Family("{setting}", _O, _S, "a benchmark setting or machine fact (benchmark.json)"),
    # --- the arms (arms.json), each beside the main runs on its seeds ----------------------------------------
    Family("arm_{arm}_{role}_{run_metric}", _O, _A, "an arm's run metric, mean over arms.seeds", _MEAN_STD),
    Family("arm_{arm}_{role}_{seed_metric}_per_seed", _O, _A, "an arm's run metric per seed (arms.seeds)"),
    Family("arm_{arm}_main_{role}_{run_metric}", _O, _A, "the main runs on the arm's seeds", _MEAN_STD),
    Family("arm_{arm}_{role}_{leak_metric}", _O, _A, "an arm's leak probe (its maskless baseline)",
           (*_MEAN_STD, "_per_seed")),
    Family("arm_{arm}_{role}_{zero_metric}", _O, _A, "an arm's zero-code percentage, mean and per seed",
           (*_MEAN_STD, "_per_seed")),
    Family("arm_{arm}_studied_code_change_fraction", _O, _A, "an arm's share of codes changed since init"),
    Family("arm_{arm}_regularization_contrast", _O, _A, "an arm's paired contrast",
           (*_MEAN_STD, "_n", "_per_seed")),
    Family("arm_{arm}_regularization_gap_fraction", _O, _A, "an arm's share of the twin's gap removed"),
    Family("arm_{arm}_matched_val_gap", _O, _A, "an arm's gap at matched training loss",
           (*_MEAN_STD, "_per_seed", "_points", "_ternary_lower")),
)


@lru_cache(maxsize=None)
def family_of(name: str) -> Family:
    """The declaration of ``name``; :class:`UndeclaredMetricError` when none declares it."""
    for family in CONTRACT:
        if family.pattern().fullmatch(name):
            return family
    raise UndeclaredMetricError(name)


def declared(name: str) -> str:
    """``name``, once checked against the contract (for key builders: spell, then check)."""
    family_of(name)
    return name


def required_names(tasks: Iterable[str]) -> list[str]:
    """Every name a run whose params fine-tune ``tasks`` must write into summary.json."""
    return [name for family in CONTRACT if family.presence is Presence.REQUIRED
            for name in family.names({"task": tuple(tasks)})]


def check_written(values: Mapping[str, Any], file: MetricsFile, tasks: Iterable[str] = ()) -> None:
    """Hold what summarize is about to write to the contract: every name declared for ``file``, and,
    for summary.json, every required name present."""
    for name in values:
        if family_of(name).file is not file:
            raise ValueError(f"metric {name!r} is declared for {family_of(name).file}.json, not {file}.json")
    if file is MetricsFile.SUMMARY:
        missing = [name for name in required_names(tasks) if name not in values]
        if missing:
            raise MissingMetricError(missing, file.value)


class Metrics:
    """summary.json and arms.json together, as the claims read them: by declared name only. A declared
    name that a run did not write (an optional metric, or a partial summary in a test) reads as None;
    an undeclared one raises."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name in values:
            family_of(name)
        self._values = dict(values)

    def raw(self, name: str) -> Any:
        """The value as written (None when absent)."""
        return self._values.get(declared(name))

    def number(self, name: str) -> float | None:
        """A number; None when absent, JSON null or NaN (an infinity stays: a diverged loss is a value)."""
        value = self.raw(name)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    def count(self, name: str) -> int | None:
        """An integer count (seeds); None when absent."""
        value = self.raw(name)
        return None if value is None else int(value)

    def series(self, name: str) -> tuple[float, ...] | None:
        """A per-seed list; None when absent or when a seed's value is missing."""
        value = self.raw(name)
        if value is None or any(v is None for v in value):
            return None
        return tuple(float(v) for v in value)

    def text(self, name: str) -> str | None:
        value = self.raw(name)
        return None if value is None else str(value)
