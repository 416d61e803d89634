"""The paper's claims, our measurement of each, and the verdict: the one place that defines them.

Verdicts:

* ``reproduced`` / ``not reproduced``: the tolerance rule below, applied to our measurement.
* ``not comparable``: the measurement does not test the claim (synthetic data, a smaller model or
  shorter training than the paper's, a different device); ``reason`` says which. Where we did
  measure something, ``indicative_verdict`` still says what the rule gives, for information only.

Tolerance rules (their numbers come from ``claims`` in params.yaml):

* ``seed_band``: reproduced iff |our mean - paper| <= max(k * our sample std, r * |paper|). The
  paper's value must lie within our seed spread (k std), but the band is never narrower than a
  relative floor r, because seeds alone cannot resolve a difference smaller than that.
* ``glue_points``: like seed_band in percentage points, with a floor of ``glue_points_tolerance``.
* ``factor``: reproduced iff paper / F <= ours <= paper * F; used for the seed std, whose
  sample estimate from a few seeds is itself uncertain by about a factor of 2-3.
* ``relative``: reproduced iff |ours / paper - 1| <= r (single measurements: memory, latency).
* ``range``: reproduced iff ours lies in [low - t, high + t] (the sparsity ranges, t in points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pipeline.config import ClaimsConfig

REAL_DATA, PAPER_MODEL, PAPER_TRAINING, PAPER_DEVICE = "real_data", "paper_model", "paper_training", "paper_device"


@dataclass(frozen=True)
class Claim:
    id: str
    description: str
    paper_value: float | tuple[float, float]
    paper_source: str
    units: str
    definition: str
    summary_key: str  # our mean in metrics/summary.json; "<key>_std" and n_seeds where seeds apply
    rule: str
    requires: tuple[str, ...]
    scale: float = 1.0  # multiply our value to get the paper's units (fractions -> percent)


_PPL_DEF = ("exp(mean token NLL) on held-out TinyStories validation text, eval mode, no label smoothing; "
            "mean over seeds")
_RATIO_DEF = ("validation perplexity / training perplexity at the end of training, both measured the same "
              "way on equal token counts; mean over seeds")
_MEM_DEF = "weight memory of the paper's 132M architecture in this format, MB = 10^6 bytes (see Efficiency)"
_LAT_DEF = "batch-1 greedy decode with KV cache, median ms per generated token"
_MODEL_CLAIMS = (REAL_DATA, PAPER_MODEL, PAPER_TRAINING)

CLAIMS: tuple[Claim, ...] = (
    Claim("val_ppl", "TinyStories validation perplexity of TernaryLM", 58.42, "paper, language-modelling results",
          "perplexity", _PPL_DEF, "studied_val_ppl", "seed_band", _MODEL_CLAIMS),
    Claim("val_ppl_seed_std", "spread of that perplexity across seeds", 0.17, "paper, language-modelling results",
          "perplexity", "sample standard deviation of validation perplexity over seeds",
          "studied_val_ppl_std", "factor", _MODEL_CLAIMS),
    Claim("train_val_ratio_ternary", "train/val generalization ratio of TernaryLM", 1.05,
          "paper, generalization analysis", "ratio", _RATIO_DEF, "studied_train_val_ratio", "seed_band",
          _MODEL_CLAIMS),
    Claim("train_val_ratio_fp32", "train/val generalization ratio of the FP32 model", 3.51,
          "paper, generalization analysis", "ratio", _RATIO_DEF, "baseline_train_val_ratio", "seed_band",
          _MODEL_CLAIMS),
    Claim("mrpc_f1", "MRPC F1 after fine-tuning TernaryLM", 82.47, "paper, GLUE results", "F1 x 100",
          "binary F1 of the paraphrase class on the dev set (scikit-learn), mean over seeds",
          "studied_mrpc_f1", "glue_points", _MODEL_CLAIMS, 100.0),
    Claim("sst2_acc", "SST-2 accuracy after fine-tuning TernaryLM", 88.92, "paper, GLUE results", "accuracy x 100",
          "dev-set accuracy (scikit-learn), mean over seeds", "studied_sst2_accuracy", "glue_points",
          _MODEL_CLAIMS, 100.0),
    Claim("cola_mcc", "CoLA Matthews correlation after fine-tuning TernaryLM", 47.23, "paper, GLUE results",
          "MCC x 100", "dev-set Matthews correlation (scikit-learn), mean over seeds", "studied_cola_mcc",
          "glue_points", _MODEL_CLAIMS, 100.0),
    Claim("memory_ternary_mb", "inference memory of TernaryLM", 498.0, "paper, efficiency table", "MB",
          _MEM_DEF + "; ternary at 2 bits/weight", "paper_arch_weights_ternary_2bit_mb", "relative", (REAL_DATA,)),
    Claim("memory_fp32_mb", "inference memory of the FP32 model", 1197.0, "paper, efficiency table", "MB",
          _MEM_DEF + "; fp32", "paper_arch_weights_fp32_mb", "relative", (REAL_DATA,)),
    Claim("memory_int8_mb", "inference memory of the INT8 model", 612.0, "paper README, efficiency table", "MB",
          _MEM_DEF + "; int8 per-row", "paper_arch_weights_int8_mb", "relative", (REAL_DATA,)),
    Claim("memory_reduction", "inference memory reduction FP32 / ternary", 2.4, "paper, abstract and efficiency",
          "x", "FP32 weight memory / ternary weight memory of the paper's architecture",
          "paper_arch_fp32_over_ternary_2bit", "relative", (REAL_DATA,)),
    Claim("latency_ternary_ms", "per-token latency of TernaryLM", 9.41, "paper, efficiency table", "ms/token",
          _LAT_DEF, "latency_studied_ms_per_token", "relative", (REAL_DATA, PAPER_MODEL, PAPER_DEVICE)),
    Claim("latency_fp32_ms", "per-token latency of the FP32 model", 9.52, "paper, efficiency table", "ms/token",
          _LAT_DEF, "latency_fp32_ms_per_token", "relative", (REAL_DATA, PAPER_MODEL, PAPER_DEVICE)),
    Claim("latency_int8_ms", "per-token latency of the INT8 model", 8.21, "paper, efficiency table", "ms/token",
          _LAT_DEF, "latency_int8_ms_per_token", "relative", (REAL_DATA, PAPER_MODEL, PAPER_DEVICE)),
    Claim("latency_ratio", "latency parity: ternary / FP32 ms per token (derived from 9.41 / 9.52)",
          round(9.41 / 9.52, 4), "paper, efficiency table (derived)", "ratio",
          "ternary ms/token / FP32 ms/token measured in the same run", "latency_studied_over_fp32", "relative",
          (REAL_DATA, PAPER_MODEL)),
    Claim("sparsity_middle_pct", "zero weights in the middle layers (L5-L9 of 12)", (60.0, 62.0),
          "paper, layer-wise analysis", "% zeros", "zero fraction of the ternary codes, layers in the middle "
          "depth band (sparsity.middle_band), weighted by weight count; mean over seeds",
          "studied_zero_pct_middle", "range", _MODEL_CLAIMS),
    Claim("sparsity_boundary_pct", "zero weights in the boundary layers", (45.0, 55.0), "paper, layer-wise analysis",
          "% zeros", "zero fraction of the ternary codes in the layers outside the middle band; mean over seeds",
          "studied_zero_pct_boundary", "range", _MODEL_CLAIMS),
)
CLAIM_IDS = tuple(claim.id for claim in CLAIMS)

REASONS = {
    REAL_DATA: "synthetic data (the offline default), not TinyStories/GLUE",
    PAPER_MODEL: "a smaller model than the paper's 132M configuration",
    PAPER_TRAINING: "shorter training than the paper's (fewer stories or epochs)",
    PAPER_DEVICE: "a different device than the paper's",
}


def tolerance_text(claim: Claim, tol: ClaimsConfig) -> str:
    return {
        "seed_band": f"|mean - paper| <= max({tol.seed_std_multiplier} x std, {tol.relative_tolerance:.0%} of paper)",
        "glue_points": f"|mean - paper| <= max({tol.seed_std_multiplier} x std, {tol.glue_points_tolerance} points)",
        "factor": f"paper / {tol.std_factor} <= ours <= paper x {tol.std_factor}",
        "relative": f"|ours / paper - 1| <= {tol.relative_tolerance:.0%}",
        "range": f"ours within [low - {tol.sparsity_points_tolerance}, high + {tol.sparsity_points_tolerance}] points",
    }[claim.rule]


def apply_rule(claim: Claim, ours: float, ours_std: float | None, tol: ClaimsConfig) -> bool:
    """True when our value reproduces the claim under its tolerance rule (values in paper units)."""
    paper = claim.paper_value
    spread = 0.0 if ours_std is None or math.isnan(ours_std) else tol.seed_std_multiplier * ours_std
    if claim.rule == "seed_band":
        return abs(ours - paper) <= max(spread, tol.relative_tolerance * abs(paper))
    if claim.rule == "glue_points":
        return abs(ours - paper) <= max(spread, tol.glue_points_tolerance)
    if claim.rule == "factor":
        return paper / tol.std_factor <= ours <= paper * tol.std_factor
    if claim.rule == "relative":
        return abs(ours / paper - 1.0) <= tol.relative_tolerance
    if claim.rule == "range":
        low, high = paper
        return low - tol.sparsity_points_tolerance <= ours <= high + tol.sparsity_points_tolerance
    raise ValueError(f"unknown tolerance rule {claim.rule!r}")


def build_claims(summary: dict[str, Any], context: dict[str, bool], tol: ClaimsConfig) -> list[dict[str, Any]]:
    """One entry per claim from our summary metrics and the run's context (which conditions hold)."""
    entries = []
    for claim in CLAIMS:
        raw = summary.get(claim.summary_key)
        raw_std = summary.get(f"{claim.summary_key}_std")
        ours = None if raw is None else raw * claim.scale
        ours_std = None if raw_std is None else raw_std * claim.scale
        unmet = [REASONS[need] for need in claim.requires if not context.get(need, False)]
        indicative = None
        if ours is not None and not math.isnan(ours):
            indicative = "reproduced" if apply_rule(claim, ours, ours_std, tol) else "not reproduced"
        if unmet:
            verdict, reason = "not comparable", "; ".join(unmet)
        elif indicative is None:
            verdict, reason = "not comparable", "not measured in this run"
        else:
            verdict, reason = indicative, "measured under the paper's conditions"
        entries.append({
            "id": claim.id, "description": claim.description,
            "paper_value": list(claim.paper_value) if isinstance(claim.paper_value, tuple) else claim.paper_value,
            "paper_source": claim.paper_source, "ours": ours, "ours_std": ours_std,
            "n_seeds": summary.get("n_seeds") if raw_std is not None or claim.rule in ("seed_band", "glue_points",
                                                                                      "factor", "range") else None,
            "units": claim.units, "definition": claim.definition, "tolerance_rule": claim.rule,
            "tolerance": tolerance_text(claim, tol), "verdict": verdict, "reason": reason,
            "indicative_verdict": indicative,
        })
    return entries
