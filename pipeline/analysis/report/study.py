"""The archived CPU study's tables and findings (results/cpu-study): one row per training regime (the
main runs and each arm that trains both models, at its own number of epochs), GLUE against the
constant predictor (x 100), zero codes by depth under both ternarization rules, and one line per
arm. Numbers come from the study's summary.json and arms.json as summarize wrote them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline.analysis.report import format as fmt
from pipeline.analysis.report.inputs import ArmRole, StudyInputs
from pipeline.analysis.report.names import ROLE_NAMES, run_set_name
from pipeline.analysis.runsets import MeanStd, aggregate_key, contrast_key, gap_fraction_key, glue_metric
from pipeline.metrics import HEADLINE_METRIC, TWN_DELTA

ROLES_BOTH = {"studied", "baseline"}


def _read(values: Mapping[str, Any], key: str) -> MeanStd:
    """An aggregate and its spread; empty where the study did not write it."""
    return MeanStd.get(values, key)


def paired_arms(params: Mapping[str, Any]) -> list[str]:
    """The arms the study ran that train both models (their regularization contrast is paired)."""
    defs = params["arms"]["defs"]
    return [arm for arm in params["arms"]["run"] if set(defs[arm]["roles"]) == ROLES_BOTH]


def _cell(values: Mapping[str, Any], key: str, unit: fmt.Unit) -> str:
    """The aggregate at ``key`` as ``mean ± std`` in ``unit``; ``n/a`` where absent."""
    return fmt.mean_spread(*_pair(values, key), unit)


def _regime_row(label: str, values: Mapping[str, Any], arm: str | None, seeds: int) -> dict[str, str]:
    """One regime: both models' val/train PPL ratios, the paired contrast and gap share, the PPLs."""
    ratio = lambda role: _cell(values, aggregate_key(role, "train_val_ratio", arm), fmt.RATIO)  # noqa: E731
    ppl = lambda metric: " / ".join(fmt.measured(values.get(aggregate_key(role, metric, arm)), fmt.PLAIN)  # noqa: E731
                                    for role in ("studied", "baseline"))
    share = values.get(gap_fraction_key(arm))
    return {"regime": label, "seeds": fmt.count(seeds), "ternary val/train": ratio("studied"),
            "FP32 twin val/train": ratio("baseline"),
            "FP32 minus ternary (paired)": _cell(values, contrast_key(arm), fmt.DIFFERENCE),
            "gap share removed": fmt.measured(share, fmt.FRACTION_AS_PERCENT) if fmt.present(share) else "-",
            "train PPL (ternary / FP32)": ppl("train_ppl"), "val PPL (ternary / FP32)": ppl("val_ppl")}


def _pair(values: Mapping[str, Any], key: str) -> tuple[Any, Any]:
    """(mean, std) at ``key``; (None, None) where absent."""
    aggregate = _read(values, key)
    return aggregate.mean, aggregate.std


def regime_labels(params: Mapping[str, Any]) -> dict[str, str]:
    """Each training regime of the study by run set: ``main`` and every paired arm, with its epochs
    (an arm's own where its ``changes`` set them): ``{"long_training": "long_training arm, 40 epochs"}``."""
    epochs = params["train"]["epochs"]
    labels = {"main": f"main runs, {epochs} epochs"}
    for arm in paired_arms(params):
        labels[arm] = f"{arm} arm, {params['arms']['defs'][arm]['changes'].get('train.epochs', epochs)} epochs"
    return labels


def regime_table(study: StudyInputs) -> pd.DataFrame:
    """Overfitting by training length: the main runs, then each paired arm (seeds: the arms' seeds)."""
    rows = []
    for arm, label in regime_labels(study.params).items():
        main = arm == "main"
        rows.append(_regime_row(label, study.summary if main else study.arms, None if main else arm,
                                study.summary["n_seeds"] if main else len(study.params["arms"]["seeds"])))
    return pd.DataFrame(rows)


def glue_table(study: StudyInputs) -> pd.DataFrame:
    """The study's GLUE dev scores x 100 (mean ± std over seeds) beside the dev set's constant predictor."""
    rows = []
    for task in study.params["glue"]["tasks"]:
        metric = glue_metric(task, HEADLINE_METRIC[task])
        trivial = study.summary.get(aggregate_key("baseline", glue_metric(task, f"trivial_{HEADLINE_METRIC[task]}")))
        rows.append({"task": task, "metric": HEADLINE_METRIC[task],
                     **{name: fmt.mean_spread(*(None if v is None else 100 * v
                                                for v in _pair(study.summary, aggregate_key(role, metric))), fmt.SCORE)
                        for role, name in ROLE_NAMES.items()},
                     "constant predictor": fmt.glue_score(trivial)})
    return pd.DataFrame(rows)


def sparsity_table(study: StudyInputs) -> pd.DataFrame:
    """Zero codes in the middle and boundary layers per model, under our rule round(w / mean|w|) and
    under TWN's threshold, mean ± std over seeds."""
    cell = lambda role, metric: _cell(study.summary, aggregate_key(role, metric), fmt.PERCENT)  # noqa: E731
    return pd.DataFrame([{"model": name, "middle": cell(role, "zero_pct_middle"),
                          "boundary": cell(role, "zero_pct_boundary"),
                          f"middle (TWN {TWN_DELTA} mean|w|)": cell(role, "twn_zero_pct_middle"),
                          f"boundary (TWN {TWN_DELTA} mean|w|)": cell(role, "twn_zero_pct_boundary")}
                         for role, name in ROLE_NAMES.items()])


def _arm_role_text(arm: str, role: ArmRole, defs: Mapping[str, Any]) -> str:
    """One role of an arm, named by what the arm changes, beside the main runs of the same seeds: val
    PPL, val/train ratio, final training loss, zero codes, and where measured the share of codes changed
    since init (a ternary model) and the leak probe (a baseline trained without the causal mask)."""
    text = lambda aggregate, unit: fmt.mean_spread(aggregate.mean, aggregate.std, unit)  # noqa: E731
    versus = lambda metric, unit: f"{text(role.arm[metric], unit)} (main runs {text(role.main[metric], unit)})"  # noqa: E731
    parts = [f"{run_set_name(role.role, arm, defs)}: val PPL {versus('val_ppl', fmt.PLAIN)}, val/train "
             f"{versus('train_val_ratio', fmt.RATIO)}"]
    if role.arm.get("train_loss", MeanStd(None, None)).mean is not None:  # absent from older archives
        parts.append(f"final training loss {versus('train_loss', fmt.RATIO)} nats")
    parts.append(f"zero codes {text(role.zero_pct, fmt.PERCENT)}")
    if role.code_change is not None:
        parts.append(f"codes changed since init {fmt.measured(role.code_change, fmt.FRACTION_AS_PERCENT)}")
    if role.leak_nats.mean is not None:
        parts.append(f"leak probe (the causal mask imposed) {text(role.leak_nats, fmt.DIFFERENCE)} nats")
    return ", ".join(parts)


def arm_findings(study: StudyInputs) -> list[str]:
    """One Markdown bullet per arm: each role it trains, named by what the arm changes, beside the main
    runs of the same seeds, and for a paired arm the contrast (FP32 minus ternary val/train ratio) and
    the gap share it removes."""
    defs, lines = study.params["arms"]["defs"], []
    for arm in study.arm_results:
        parts = [_arm_role_text(arm.name, role, defs) for role in arm.roles]
        if arm.contrast is not None:
            share = fmt.measured(arm.gap_fraction, fmt.FRACTION_AS_PERCENT) if fmt.present(arm.gap_fraction) else "-"
            contrast = fmt.mean_spread(arm.contrast.mean, arm.contrast.std, fmt.DIFFERENCE)
            parts.append(f"FP32 minus ternary {contrast}, gap share {share}")
        lines.append(f"* **`{arm.name}`**: " + "; ".join(parts) + ".")
    return lines
