"""The regularization contrast measured at matched training loss, for pairs trained side by side.

At equal steps (summarize's ``regularization_contrast``) a model that fits faster looks as if it
overfits more: at the CPU study's learning rate the ternary model reaches a lower training loss
sooner, so its val/train ratio is larger at every epoch. Matched by training loss instead, the
question is how well each generalises *at the same fit*: for every end-of-epoch point of the ternary
model, its validation loss minus the FP32 twin's validation loss at the same training loss (the twin's
points ordered by training loss, interpolated linearly; only points inside the twin's range of
training loss, and at most ``claims.matched_loss_max_nats``, where both models have left the first,
unigram-like phase). Negative: at equal fit the ternary model generalises better.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def matched_val_gaps(epochs: pd.DataFrame, max_train_loss: float) -> pd.DataFrame:
    """One row per ternary end-of-epoch point that can be matched, for every (arm, seed) run set with
    both models: columns ``arm, seed, epoch, train_loss, gap`` (``epochs`` is summarize's long table:
    arm, role, seed, split, epoch, loss)."""
    wide = epochs.pivot_table(index=["arm", "role", "seed", "epoch"], columns="split", values="loss").reset_index()
    rows = []
    for (arm, seed), runs in wide.groupby(["arm", "seed"]):
        ternary, twin = runs[runs["role"] == "studied"], runs[runs["role"] == "baseline"].sort_values("train")
        if ternary.empty or twin.empty:
            continue
        low, high = twin["train"].min(), twin["train"].max()
        for point in ternary.itertuples():
            if point.train <= max_train_loss and low <= point.train <= high:
                twin_val = float(np.interp(point.train, twin["train"].to_numpy(), twin["val"].to_numpy()))
                rows.append({"arm": arm, "seed": seed, "epoch": point.epoch, "train_loss": point.train,
                             "gap": point.val - twin_val})
    return pd.DataFrame(rows, columns=["arm", "seed", "epoch", "train_loss", "gap"])


def matched_gap_by_run_set(gaps: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Per run set (``main`` or an arm): the mean gap of each seed (the t-test's sample), the number of
    matched points and how many of them favour the ternary model (gap < 0)."""
    summary = {}
    for arm, rows in gaps.groupby("arm"):
        summary[str(arm)] = {"per_seed": rows.groupby("seed")["gap"].mean().tolist(), "points": int(len(rows)),
                             "ternary_lower": int((rows["gap"] < 0).sum()), "mean": float(rows["gap"].mean())}
    return summary
