"""What the report, its figures and the offline plots page call each model and run set, so that the
same thing has the same name everywhere: the ``studied`` role is the *ternary* model, the
``baseline`` role its *FP32 twin*, and the ``maskless_baseline`` arm *the notebook's baseline* (its
FP32 model without a causal mask). An arm's other run sets are named by the role and what the arm
changes (``ternary, 30 epochs``), read from its ``changes`` in the params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ROLE_NAMES = {"studied": "ternary", "baseline": "FP32 twin"}
NOTEBOOK_BASELINE = "the notebook's baseline (FP32, no causal mask)"
# An arm whose changes are exactly these trains the released notebook's baseline instead of the twin.
NOTEBOOK_BASELINE_CHANGES = {"model.baseline.attention": "bidirectional", "model.baseline.positions": "learned"}
# How one changed param reads in a run set's name ({} is its value).
CHANGE_WORDS = {"train.epochs": "{} epochs", "train.max_stories": "{:,} stories", "model.init_std": "init std {}",
                "model.scale": "{} scale", "model.quant": "{} weights", "model.arch.dim": "width {}",
                "model.arch.n_heads": "{} heads"}
MAX_WORDED_CHANGES = 4  # an arm that changes more (a whole recipe) is named by its id


def role_name(role: str, quant: str = "ternary") -> str:
    """``ternary`` / ``FP32 twin``; the studied model under another ``model.quant`` is ``studied (fp32)``."""
    if role == "studied" and quant != "ternary":
        return f"studied ({quant})"
    return ROLE_NAMES.get(role, role)


def change_words(changes: Mapping[str, Any]) -> str | None:
    """An arm's ``changes`` in words (``1,000 stories, 30 epochs``); None where one has no words or
    there are more than :data:`MAX_WORDED_CHANGES` (a recipe reads better as the arm's name)."""
    if len(changes) > MAX_WORDED_CHANGES or any(key not in CHANGE_WORDS or value is None
                                                for key, value in changes.items()):
        return None
    return ", ".join(CHANGE_WORDS[key].format(value) for key, value in changes.items())


def run_set_name(role: str, arm: str | None = None, defs: Mapping[str, Any] | None = None) -> str:
    """The name of the main runs of ``role`` or of ``arm``'s runs of it (``defs``: the params' ``arms.defs``,
    raw or parsed): the notebook's baseline where the arm trains it (``, <arm> arm`` if it changes more),
    else the role and what the arm changes, or the arm's id."""
    if arm is None or arm == "main":
        return role_name(role)
    spec = (defs or {}).get(arm)
    changes = dict(spec["changes"] if isinstance(spec, Mapping) else spec.changes) if spec is not None else {}
    if role == "baseline" and NOTEBOOK_BASELINE_CHANGES.items() <= changes.items():
        return NOTEBOOK_BASELINE + ("" if changes == NOTEBOOK_BASELINE_CHANGES else f", {arm} arm")
    return f"{role_name(role)}, {change_words(changes) or f'{arm} arm'}"


def column_name(column: str, defs: Mapping[str, Any] | None = None) -> str:
    """The name of a plot table's run-set column (``studied``, ``long_training baseline``; see
    :func:`pipeline.analysis.runsets.run_set_columns`); any other column is returned as it is."""
    arm, _, role = column.rpartition(" ")
    if role not in ROLE_NAMES:
        return column
    return run_set_name(role, arm or None, defs)
