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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from pipeline.bench.table import metric_key
from pipeline.config import ClaimsConfig
from pipeline.metrics import GAUSSIAN_ZERO_FRACTION, HEADLINE_METRIC, TWN_DELTA
from pipeline.paper import (NOTEBOOK_EPOCHS, NOTEBOOK_TRAIN_TOKENS, PAPER_TRAIN_STORIES, README_BERT_BASE_GLUE,
                           REPORTED as R)

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


def _span(key: str) -> str:
    """A reported range as the paper prints it: ``60-62``."""
    low, high = R[key]
    return f"{low:g}-{high:g}"
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
        if self.std is None or self.n is None or self.n < 2 or math.isnan(self.std):
            return None
        return self.std / math.sqrt(self.n)


@dataclass(frozen=True)
class Claim:
    id: str
    description: str
    paper_value: float | tuple[float, float] | None
    paper_source: str
    units: str
    definition: str
    kind: str  # absolute | direction | architecture | reference
    rule: str
    measure: Callable[[dict], Measured]
    requires: tuple[str, ...] = ()
    # extra checks before the rule: each returns (verdict, reason) or None
    checks: tuple[Callable[[dict, "Claim", Measured, ClaimsConfig], tuple[str, str] | None], ...] = field(default=())
    threshold: Callable[[ClaimsConfig], float] | None = None  # the at_least rule's bar
    alt_label: str = ""


def _get(summary: dict, key: str) -> float | None:
    value = summary.get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _seeded(key: str, scale: float = 1.0, alt: str | None = None, baseline: str | None = None
            ) -> Callable[[dict], Measured]:
    """Our mean (and sample std over ``n_seeds``) of a summary key, in paper units."""
    def measure(summary: dict) -> Measured:
        value, std = _get(summary, key), _get(summary, f"{key}_std")
        scaled = lambda x: None if x is None else x * scale  # noqa: E731
        return Measured(scaled(value), scaled(std), summary.get("n_seeds"),
                        scaled(_get(summary, alt)) if alt else None,
                        scaled(_get(summary, baseline)) if baseline else None)
    return measure


def _single(key: str, alt: str | None = None) -> Callable[[dict], Measured]:
    return lambda summary: Measured(_get(summary, key), alt=_get(summary, alt) if alt else None)


def _arch(fmt: str, metric: str) -> str:
    """The summary key of one measurement of the 132M-shape benchmark (pipeline/bench/table.py)."""
    return metric_key("paper_arch", fmt, metric)


def _constant(value: float | None) -> Callable[[dict], Measured]:
    return lambda summary: Measured(value)


# --- checks that run before the rule ---------------------------------------------------------------

def _beats_trivial(summary, claim, ours, tol):
    if ours.baseline is None or ours.value is None:
        return None
    if ours.value < ours.baseline + tol.trivial_margin_points:
        return "uninformative", (f"{ours.value:.2f} does not beat the constant predictor's {ours.baseline:.2f} by "
                                 f"{tol.trivial_margin_points:g} points: the classifier has learned nothing measurable")
    return None


def _twin_overfits(prefix: str):
    def check(summary, claim, ours, tol):
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


def _twin_beats_trivial(task: str):
    def check(summary, claim, ours, tol):
        metric = HEADLINE_METRIC[task]
        twin, trivial = _get(summary, f"baseline_{task}_{metric}"), _get(summary, f"baseline_{task}_trivial_{metric}")
        if twin is None or trivial is None:
            return "not testable here", f"{task} was not fine-tuned in this run"
        if (twin - trivial) * 100 < tol.trivial_margin_points:
            return "not testable here", (f"the FP32 twin's {100 * twin:.2f} does not beat the constant predictor "
                                         f"({100 * trivial:.2f}): there is no quality to keep")
        return None
    return check


def gaussian_note(summary: dict, tol: ClaimsConfig) -> str:
    """", the weights still at the Gaussian level (31.0%)" when training has not moved the zero fraction."""
    zeros, gaussian = _get(summary, "studied_zero_pct_all"), _get(summary, "gaussian_reference_zero_pct")
    if zeros is None or gaussian is None or abs(zeros - gaussian) >= tol.gaussian_shift_points:
        return ""
    return f"; the ternary weights are still at the Gaussian level ({zeros:.1f}% zeros vs {gaussian:.1f}%)"


# --- measurements that combine keys -----------------------------------------------------------------

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
    def measure(summary: dict) -> Measured:
        key = f"{prefix}regularization_contrast"
        return Measured(_get(summary, key), _get(summary, f"{key}_std"), summary.get(f"{key}_n"),
                        alt=_get(summary, f"{prefix}regularization_gap_fraction"))
    return measure


def _seed_cv(summary: dict) -> Measured:
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
    return Measured(BERT_CORPUS_WORDS / NOTEBOOK_TRAIN_TOKENS,
                    alt=BERT_CORPUS_WORDS / (NOTEBOOK_TRAIN_TOKENS * NOTEBOOK_EPOCHS))


_PPL_DEF = ("the notebook's 'perplexity': exp(label-smoothed cross-entropy, smoothing train.label_smoothing) on held-out "
            "TinyStories validation text, eval mode, mean over seeds; beside it our true perplexity (no smoothing)")
_RATIO_DEF = ("validation perplexity / training perplexity at the end of training, measured the same way on equal "
              "token counts; mean over seeds")
_MEM_DEF = ("resident weight bytes of the paper's 132M architecture (MB = 10^6 bytes) under the paper's conditions: "
            "embedding and head in full precision (fp32)")
_LAT_DEF = "batch-1 greedy decode with KV cache, median ms per generated token, paper's 132M architecture, this CPU"
_GLUE_DEF = "{metric} on the dev set (scikit-learn), mean over seeds; beside it the best constant predictor on that dev set"
_SPARSE_DEF = ("zero fraction of round(w / mean|w|) ternary codes, weighted by weight count, mean over seeds; "
               f"a Gaussian weight gives {100 * GAUSSIAN_ZERO_FRACTION:.1f}%")


def _glue_claim(task: str, name: str) -> Claim:
    metric = HEADLINE_METRIC[task]
    return Claim(GLUE_CLAIM_ID[task], f"{name} after fine-tuning TernaryLM", R[GLUE_CLAIM_ID[task]],
                 "abstract (v1, v2); " + README_GLUE if task == "mrpc" else README_GLUE, f"{metric} x 100",
                 _GLUE_DEF.format(metric=metric), "absolute", "band",
                 _seeded(f"studied_{task}_{metric}", 100.0, baseline=f"studied_{task}_trivial_{metric}"),
                 MODEL_SCALE, (_beats_trivial,))


def _retained_claim(task: str) -> Claim:
    return Claim(f"{task}_retained_vs_twin", f"TernaryLM keeps most of its FP32 twin's {task.upper()} quality",
                 round(_paper_retained(task), 3), f"{README_GLUE} (TernaryLM vs BERT-Base, not a twin)", "share",
                 "(ternary - constant predictor) / (FP32 twin - constant predictor) of the headline metric, means over "
                 "seeds; the paper's value uses its TernaryLM and BERT-Base rows over the real dev set's constant "
                 "predictor", "direction", "at_least", _glue_retained(task), (REAL_DATA,), (_twin_beats_trivial(task),),
                 threshold=lambda tol: tol.glue_retained_min)


def _contrast_claim(claim_id: str, prefix: str, where: str) -> Claim:
    return Claim(claim_id, f"ternary weights prevent overfitting on a small corpus ({where})", round(R["train_val_ratio_fp32"] - R["train_val_ratio_ternary"], 2),
                 f"abstract (v2): {R['train_val_ratio_ternary']}x ternary vs {R['train_val_ratio_fp32']}x FP32",
                 "ratio difference",
                 "FP32 twin's val/train PPL ratio minus the ternary model's, paired by seed (mean, sample std); beside "
                 "it the share of the twin's gap (ratio - 1) that ternary removes (paper: 0.98)",
                 "direction", "contrast", _contrast(prefix), (REAL_DATA,), (_twin_overfits(prefix),))


CLAIMS: tuple[Claim, ...] = (
    Claim("val_ppl", "TinyStories validation perplexity of TernaryLM", R["val_ppl"], "abstract (v1 and v2)", "perplexity",
          _PPL_DEF, "absolute", "band", _seeded("studied_val_ppl_smoothed", alt="studied_val_ppl"), MODEL_SCALE,
          alt_label="true PPL"),
    Claim("val_ppl_seed_std", "spread of that perplexity across seeds", R["val_ppl_seed_std"],
          "abstract (v2): cross-seed standard deviation", "perplexity",
          "sample standard deviation over seeds of the perplexity above", "absolute", "factor",
          _seeded("studied_val_ppl_smoothed_std"), MODEL_SCALE),
    Claim("val_ppl_seed_cv", "training is stable across seeds: spread small relative to the mean", round(100 * R["val_ppl_seed_std"] / R["val_ppl"], 3),
          f"abstract (v2): {R['val_ppl']} +/- {R['val_ppl_seed_std']}", "% of mean",
          "sample std / mean over seeds of the notebook-defined validation perplexity, in %; beside it the same for "
          "our true perplexity; needs 3 or more seeds", "direction", "at_most_factor", _seed_cv, (REAL_DATA,),
          (lambda s, c, o, t: ("not testable here", "needs 3 or more seeds") if (o.n or 0) < 3 else None,),
          alt_label="true PPL"),
    Claim("train_val_ratio_ternary", "train/val generalization ratio of TernaryLM", R["train_val_ratio_ternary"], "abstract (v2)", "ratio",
          _RATIO_DEF, "absolute", "band", _seeded("studied_train_val_ratio"), MODEL_SCALE),
    Claim("train_val_ratio_fp32", "train/val generalization ratio of the FP32 model", R["train_val_ratio_fp32"],
          "abstract (v2): FP32 baseline", "ratio", _RATIO_DEF, "absolute", "band", _seeded("baseline_train_val_ratio"),
          MODEL_SCALE),
    _contrast_claim("regularization_contrast", "", "the main runs"),
    _contrast_claim("regularization_contrast_medium", "arm_medium_training_", "the medium_training arm"),
    _contrast_claim("regularization_contrast_long", "arm_long_training_", "the long_training arm: towards memorising"),
    _glue_claim("mrpc", "MRPC F1"),
    _glue_claim("sst2", "SST-2 accuracy"),
    _glue_claim("cola", "CoLA Matthews correlation"),
    _retained_claim("mrpc"),
    _retained_claim("sst2"),
    _retained_claim("cola"),
    Claim("mrpc_above_distilbert", f"{R['mrpc_f1']} MRPC F1 surpasses DistilBERT", DISTILBERT_MRPC,
          "abstract (v2): 'surpassing DistilBERT'", "MRPC x 100",
          f"the paper's own MRPC F1 ({R['mrpc_f1']}) held against {DISTILBERT_SOURCE}", "reference", "at_least",
          _constant(R["mrpc_f1"]), threshold=lambda tol: DISTILBERT_MRPC),
    Claim("pretraining_data_ratio", f"with {R['pretraining_data_ratio']:g}x less pre-training data than DistilBERT", R["pretraining_data_ratio"],
          "abstract (v2)", "x",
          "BERT's (and DistilBERT's) corpus, 3.3B words (BooksCorpus 800M + Wikipedia 2,500M; Devlin et al. 2019, "
          f"section 3.1) / the notebook's {NOTEBOOK_TRAIN_TOKENS:,} TinyStories tokens ({PAPER_TRAIN_STORIES:,} stories); beside "
          f"it the same over {NOTEBOOK_EPOCHS} epochs of tokens seen", "reference", "relative", _data_ratio,
          alt_label=f"over {NOTEBOOK_EPOCHS} epochs"),
    Claim("bert_base_reference", "README GLUE row for BERT-Base: " + " / ".join(f"{README_BERT_BASE_GLUE[t]}" for t in HEADLINE_METRIC)
          + " (MRPC F1 / SST-2 acc / CoLA MCC)",
          None, "README 'Downstream Transfer (GLUE)' table, BERT-Base row", "-",
          "a reference row the README prints beside TernaryLM; shown in the GLUE table", "reference", "none",
          _constant(None)),
    Claim("memory_ternary_mb", "inference memory of TernaryLM", R["memory_ternary_mb"], "abstract (v1, v2); README 'Inference Memory (GPU)'",
          "MB", _MEM_DEF + "; ternary block layers packed at 2 bits per weight; beside it our packed model with a "
          "bf16 embedding and head", "architecture", "relative",
          _single(_arch("ternary_pytorch", "weights_mb"), alt=_arch("ternary_packed", "weights_mb")),
          (PAPER_ARCH_BENCH,), alt_label="bf16 embedding/head"),
    Claim("memory_fp32_mb", "inference memory of the FP32 model", R["memory_fp32_mb"],
          "abstract (v2: FP32 of identical architecture); README labels it BERT-Base FP32", "MB", _MEM_DEF + "; fp32",
          "architecture", "relative", _single(_arch("fp32", "weights_mb"), alt=_arch("fp32", "peak_mb")),
          (PAPER_ARCH_BENCH,), alt_label="peak RSS"),
    Claim("memory_int8_mb", "inference memory of the INT8 model", R["memory_int8_mb"], "README 'Inference Memory (GPU)' (BERT-Base INT8)",
          "MB", _MEM_DEF + "; PyTorch dynamic int8 linear layers", "architecture", "relative",
          _single(_arch("int8", "weights_mb"), alt=_arch("int8", "peak_mb")), (PAPER_ARCH_BENCH,),
          alt_label="peak RSS"),
    Claim("memory_reduction", "inference memory reduction FP32 / ternary", R["memory_reduction"], "abstract (v1, v2)", "x",
          "FP32 weight memory / packed ternary weight memory (fp32 embedding and head) of the 132M architecture; "
          "beside it the same with a bf16 embedding and head", "architecture", "relative",
          _single(_arch("ternary_pytorch", "weight_reduction"), alt=_arch("ternary_packed", "weight_reduction")),
          (PAPER_ARCH_BENCH,), alt_label="bf16 embedding/head"),
    Claim("latency_ternary_ms", "per-token latency of TernaryLM", R["latency_ternary_ms"], "README 'Per-Token Latency' (device not stated)",
          "ms/token", _LAT_DEF + "; packed ternary, pure PyTorch", "architecture", "relative",
          _single(_arch("ternary_pytorch", "ms_per_token"), alt=_arch("ternary_packed", "ms_per_token")),
          (PAPER_DEVICE,), alt_label="C++ kernel"),
    Claim("latency_fp32_ms", "per-token latency of the FP32 model", R["latency_fp32_ms"], "README 'Per-Token Latency' (device not stated)",
          "ms/token", _LAT_DEF + "; fp32", "architecture", "relative", _single(_arch("fp32", "ms_per_token")), (PAPER_DEVICE,)),
    Claim("latency_int8_ms", "per-token latency of the INT8 model", R["latency_int8_ms"], "README 'Per-Token Latency' (device not stated)",
          "ms/token", _LAT_DEF + "; dynamic int8", "architecture", "relative", _single(_arch("int8", "ms_per_token")),
          (PAPER_DEVICE,)),
    Claim("latency_ratio", "latency parity without specialized ternary kernels: ternary / FP32 ms per token",
          round(R["latency_ternary_ms"] / R["latency_fp32_ms"], 4),
          f"README 'Per-Token Latency' ({R['latency_ternary_ms']} / {R['latency_fp32_ms']})", "ratio",
          "packed ternary model on the pure-PyTorch path (no custom kernel) / FP32, ms per token, 132M architecture, "
          "same run; beside it our C++ kernel's ratio (a specialized kernel: our result, not the paper's system)",
          "architecture", "parity",
          _single(_arch("ternary_pytorch", "latency_over_fp32"), alt=_arch("ternary_packed", "latency_over_fp32")),
          (PAPER_ARCH_BENCH,), alt_label="C++ kernel"),
    Claim("memory_latency_system", f"{R['memory_reduction']}x less memory at near-parity latency, without specialized "
          "ternary kernels", R["memory_reduction"],
          "abstract (v1, v2)", "x",
          "one system with both properties, measured against FP32 in one run: the packed model on the pure-PyTorch "
          f"path (fp32 embedding and head); memory reduction within relative_tolerance of {R['memory_reduction']} and latency ratio "
          "(beside) within parity_tolerance of 1", "architecture", "system", _system, (PAPER_ARCH_BENCH,),
          alt_label="latency ratio"),
    Claim("sparsity_middle_pct", "zero weights in the middle layers (L5-L9 of 12)", R["sparsity_middle_pct"], "abstract (v2): L5-L9",
          "% zeros", _SPARSE_DEF + "; layers in sparsity.middle_band", "absolute", "range",
          _seeded("studied_zero_pct_middle", alt="studied_twn_zero_pct_middle"), MODEL_SCALE,
          alt_label=f"TWN {TWN_DELTA} mean|w| rule"),
    Claim("sparsity_boundary_pct", "zero weights in the boundary layers", R["sparsity_boundary_pct"], "abstract (v2)", "% zeros",
          _SPARSE_DEF + "; the layers outside the middle band", "absolute", "range",
          _seeded("studied_zero_pct_boundary", alt="studied_twn_zero_pct_boundary"), MODEL_SCALE,
          alt_label=f"TWN {TWN_DELTA} mean|w| rule"),
    Claim("sparsity_middle_vs_boundary", "middle layers are sparser than boundary layers",
          sum(R["sparsity_middle_pct"]) / 2 - sum(R["sparsity_boundary_pct"]) / 2,
          f"abstract (v2): {_span('sparsity_middle_pct')}% vs {_span('sparsity_boundary_pct')}% (midpoints)", "points",
          "middle minus boundary zero percentage of the ternary codes, mean over seeds (the reason says when the "
          "weights are still at the Gaussian level, where no layer is sparser)", "direction", "at_least",
          _seeded("studied_zero_pct_middle_minus_boundary"), (REAL_DATA,),
          threshold=lambda tol: tol.sparsity_contrast_points),
    Claim("sparsity_above_gaussian", "training makes ternary weights sparser than a Gaussian weight",
          sum(R["sparsity_boundary_pct"]) / 2 - round(100 * GAUSSIAN_ZERO_FRACTION, 1),
          f"abstract (v2): {R['sparsity_boundary_pct'][0]:g}-{R['sparsity_middle_pct'][1]:g}% zeros in every layer, vs "
          f"{100 * GAUSSIAN_ZERO_FRACTION:.1f}% for a Gaussian under the same rule", "points",
          "zero percentage of all ternary codes minus the Gaussian 31.0%, mean over seeds", "direction", "at_least",
          _seeded("studied_zero_pct_all_minus_gaussian"), (REAL_DATA,),
          threshold=lambda tol: tol.gaussian_shift_points),
    Claim("stable_training", "stable training: smooth, monotonic loss decay (TinyStories)", 0.0,
          "README 'stable training dynamics across diverse corpora'", "relative rise",
          "largest rise of the mean training loss from one tenth of training to the next, over every run of both "
          "models (0 = monotonic); must stay within smooth_loss_tolerance; runs must end finite", "direction",
          "at_most_tolerance", _single("max_loss_rise_between_tenths"), (REAL_DATA,)),
    Claim("stable_training_writingprompts", "stable training on WritingPrompts too", None,
          "README 'stable training dynamics across diverse corpora'", "-",
          "the same smoothness rule on a WritingPrompts run", "reference", "none", _constant(None)),
)
CLAIM_IDS = tuple(claim.id for claim in CLAIMS)

WRITINGPROMPTS_RUN = ("WritingPrompts is on the Hugging Face hub only: with network, `dvc exp run -S data.source=hub "
                      "-S data.hub.tinystories=euclaise/writingprompts -S data.hub.text_field=story` trains on it")


def rule_text(claim: Claim, tol: ClaimsConfig) -> str:
    return {
        "band": (f"|mean - paper| <= {tol.relative_tolerance:.0%} of paper" if "x 100" not in claim.units
                 else f"|mean - paper| <= {tol.glue_points_tolerance:g} points") + "; SE over seeds within the band",
        "factor": f"paper / {tol.std_factor:g} <= ours <= paper x {tol.std_factor:g}",
        "at_most_factor": f"ours <= paper x {tol.std_factor:g}",
        "relative": f"|ours / paper - 1| <= {tol.relative_tolerance:.0%}",
        "parity": f"|ours - 1| <= {tol.parity_tolerance:g} (two-sided)",
        "range": f"ours within [low - {tol.sparsity_points_tolerance:g}, high + {tol.sparsity_points_tolerance:g}]",
        "at_least": f"ours >= {claim.threshold(tol):g}" if claim.threshold else "",
        "contrast": f"mean > 2 SE and gap share >= {tol.contrast_min_gap_fraction:g}",
        "system": f"|reduction / {R['memory_reduction']:g} - 1| <= {tol.relative_tolerance:.0%} and |latency ratio - 1| <= {tol.parity_tolerance:g}",
        "at_most_tolerance": f"ours <= {tol.smooth_loss_tolerance:g}",
        "none": "-",
    }[claim.rule]


def _band(claim: Claim, tol: ClaimsConfig) -> float:
    return tol.glue_points_tolerance if "x 100" in claim.units else tol.relative_tolerance * abs(claim.paper_value)


def apply_rule(claim: Claim, ours: Measured, tol: ClaimsConfig) -> tuple[str, str, float | None]:
    """(verdict, reason, margin) of the rule itself; margin > 0 means inside the tolerance by that much."""
    paper, value = claim.paper_value, ours.value
    if claim.rule == "contrast":
        return _contrast_verdict(ours, tol)
    if claim.rule == "band":
        band, gap = _band(claim, tol), abs(value - paper)
        if ours.se is not None and ours.se > band:
            return "uninformative", (f"too noisy to decide: the standard error over {ours.n} seeds ({ours.se:.3g}) is "
                                     f"wider than the band ({band:.3g})"), band - ours.se
        holds, detail, margin = gap <= band, f"|{value:.4g} - {paper:g}| = {gap:.3g} vs band {band:.3g}", band - gap
    elif claim.rule == "factor":
        low, high = paper / tol.std_factor, paper * tol.std_factor
        holds, detail, margin = low <= value <= high, f"{value:.3g} vs [{low:.3g}, {high:.3g}]", min(value - low, high - value)
    elif claim.rule == "at_most_factor":
        bar = paper * tol.std_factor
        holds, detail, margin = value <= bar, f"{value:.3g} vs at most {bar:.3g}", bar - value
    elif claim.rule == "relative":
        off = abs(value / paper - 1.0)
        holds, margin = off <= tol.relative_tolerance, tol.relative_tolerance - off
        detail = f"{value:.4g} is {off:.1%} from {paper:g} (tolerance {tol.relative_tolerance:.0%})"
    elif claim.rule == "parity":
        off = abs(value - 1.0)
        holds, margin = off <= tol.parity_tolerance, tol.parity_tolerance - off
        detail = f"ratio {value:.3f}: {off:.1%} from parity (tolerance {tol.parity_tolerance:.0%}, two-sided)"
    elif claim.rule == "range":
        (low, high), t = paper, tol.sparsity_points_tolerance
        holds, margin = low - t <= value <= high + t, min(value - (low - t), (high + t) - value)
        detail = f"{value:.1f} vs [{low - t:g}, {high + t:g}]"
    elif claim.rule == "at_least":
        bar = claim.threshold(tol)
        if ours.se is not None and abs(value - bar) < 2 * ours.se:
            return "uninformative", (f"{value:.3g} is within 2 standard errors ({2 * ours.se:.3g}) of the bar "
                                     f"{bar:g}: the seeds do not settle it"), value - bar
        holds, detail, margin = value >= bar, f"{value:.3g} vs at least {bar:g}", value - bar
    elif claim.rule == "at_most_tolerance":
        holds, margin = value <= tol.smooth_loss_tolerance, tol.smooth_loss_tolerance - value
        detail = f"largest rise {value:.3g} vs at most {tol.smooth_loss_tolerance:g}"
    elif claim.rule == "system":
        reduction_off, parity_off = abs(value / paper - 1.0), abs(ours.alt - 1.0)
        memory_ok, latency_ok = reduction_off <= tol.relative_tolerance, parity_off <= tol.parity_tolerance
        holds = memory_ok and latency_ok
        margin = min(tol.relative_tolerance - reduction_off, tol.parity_tolerance - parity_off)
        detail = (f"memory {value:.3f}x ({reduction_off:.1%} from {paper:g}, {'ok' if memory_ok else 'outside'}), latency "
                  f"ratio {ours.alt:.3f} ({parity_off:.1%} from parity, {'ok' if latency_ok else 'outside'})")
    else:
        raise ValueError(f"unknown rule {claim.rule!r}")
    return ("reproduced" if holds else "not reproduced"), detail, margin


def _contrast_verdict(ours: Measured, tol: ClaimsConfig) -> tuple[str, str, float | None]:
    diff, se, share = ours.value, ours.se, ours.alt
    if se is None or abs(diff) <= 2 * se:
        return "uninformative", (f"FP32 minus ternary ratio {diff:+.3f} is within 2 standard errors "
                                 f"({2 * (se or float('nan')):.3f}): the seeds do not settle its sign"), None
    if diff < 0:
        return "not reproduced", (f"the ternary model overfits more: its ratio is {-diff:.3f} above the twin's "
                                  f"(paired over {ours.n} seeds)"), share - tol.contrast_min_gap_fraction
    holds = share >= tol.contrast_min_gap_fraction
    return ("reproduced" if holds else "not reproduced"), (
        f"ternary lowers the ratio by {diff:.3f} (> 2 SE), removing {share:.0%} of the twin's gap "
        f"({'at least' if holds else 'less than'} {tol.contrast_min_gap_fraction:.0%})"), share - tol.contrast_min_gap_fraction


def tested_at(claim: Claim, context: dict[str, bool]) -> str:
    if claim.kind == "architecture":
        return "architecture benchmark (132M shapes)"
    if claim.kind == "reference":
        return "published figures"
    if all(context.get(need, False) for need in MODEL_SCALE):
        return "paper scale"
    return context.get("scale_label", "this run")


def judge(claim: Claim, summary: dict, context: dict[str, bool], tol: ClaimsConfig) -> dict[str, Any]:
    """One claims-table entry: our measurement, the verdict and its one-line reason."""
    ours = claim.measure(summary)
    verdict, reason, margin = _decide(claim, ours, summary, context, tol)
    paper = claim.paper_value
    return {
        "id": claim.id, "description": claim.description, "kind": claim.kind,
        "paper_value": list(paper) if isinstance(paper, tuple) else paper, "paper_source": claim.paper_source,
        "ours": ours.value, "ours_std": ours.std, "n_seeds": ours.n, "ours_se": ours.se,
        "ours_alt": ours.alt, "alt_label": claim.alt_label, "trivial_baseline": ours.baseline,
        "units": claim.units, "definition": claim.definition, "rule": claim.rule, "tolerance": rule_text(claim, tol),
        "margin": margin, "verdict": verdict, "reason": reason, "tested_at": tested_at(claim, context),
    }


def _decide(claim, ours, summary, context, tol) -> tuple[str, str, float | None]:
    if claim.id == "stable_training_writingprompts":
        return "not testable here", WRITINGPROMPTS_RUN, None
    if claim.id == "bert_base_reference":
        return "not testable here", ("a reference row: this pipeline fine-tunes no BERT-Base; the report's GLUE "
                                     "table shows it beside ours"), None
    for check in claim.checks:  # preconditions first: they say why a value is missing, too
        found = check(summary, claim, ours, tol)
        if found is not None:
            return (*found, None)
    unmet = [REASONS[need] for need in claim.requires if not context.get(need, False)]
    if ours.value is None:
        return "not testable here", "not measured in this run" + (f": {'; '.join(unmet)}" if unmet else ""), None
    if unmet:
        return "not comparable", "; ".join(unmet), None
    verdict, reason, margin = apply_rule(claim, ours, tol)
    if claim.id == "mrpc_above_distilbert" and verdict == "not reproduced":
        reason = f"as printed: the paper's {R['mrpc_f1']} is below DistilBERT's published {DISTILBERT_MRPC}"
    if claim.id.startswith("sparsity_"):
        reason += gaussian_note(summary, tol)
    if claim.id == "pretraining_data_ratio" and verdict == "not reproduced":
        reason = (f"no cited count gives {claim.paper_value:g}x: {ours.value:.0f}x over unique tokens, {ours.alt:.0f}x over "
                  f"the {NOTEBOOK_EPOCHS} epochs' tokens seen (words vs WordPiece tokens aside)")
    return verdict, reason, margin


def build_claims(summary: dict[str, Any], context: dict[str, bool], tol: ClaimsConfig) -> list[dict[str, Any]]:
    """One entry per claim from our summary metrics and the run's context (which conditions hold)."""
    return [judge(claim, summary, context, tol) for claim in CLAIMS]
