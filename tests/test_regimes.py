"""pipeline/analysis/regimes.py: the contrast at matched training loss, on hand-made curves and on the
archived CPU study's real per-epoch curves."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from pipeline.analysis.regimes import matched_gap_by_run_set, matched_val_gaps
from tests.conftest import PROJECT_ROOT


def _curves(arm: str, role: str, seed: int, train: list[float], val: list[float]) -> list[dict]:
    return [{"arm": arm, "role": role, "seed": seed, "split": split, "epoch": epoch + 1, "loss": loss}
            for split, losses in (("train", train), ("val", val)) for epoch, loss in enumerate(losses)]


def test_the_twin_is_read_at_the_ternary_models_training_loss():
    # the ternary model fits faster; at train loss 3.5 the twin's validation loss is 4.25 (midway)
    epochs = pd.DataFrame(_curves("main", "studied", 0, [5.0, 3.5, 2.0], [5.1, 4.0, 4.6])
                          + _curves("main", "baseline", 0, [5.5, 4.0, 3.0], [5.6, 4.5, 4.0]))
    gaps = matched_val_gaps(epochs, max_train_loss=4.5)
    # 5.0 is above the cap, 2.0 below the twin's range: only the 3.5 point is matched
    assert gaps[["epoch", "train_loss"]].values.tolist() == [[2, 3.5]]
    assert gaps["gap"].iloc[0] == pytest.approx(4.0 - 4.25)
    assert matched_gap_by_run_set(gaps)["main"] == {"per_seed": [pytest.approx(-0.25)], "points": 1,
                                                    "ternary_lower": 1, "mean": pytest.approx(-0.25)}


def test_run_sets_with_one_model_are_left_out():
    epochs = pd.DataFrame(_curves("notebook_init", "studied", 0, [5.0, 4.0], [5.0, 4.2]))
    assert matched_val_gaps(epochs, 10.0).empty


def test_the_cpu_study_at_matched_loss():
    """The first CPU study's curves (results/cpu-study-v1, superseded by the issue-23 re-run): below 4.0
    nats of training loss, 53 points of the medium and long arms can be matched and the ternary model's
    validation loss is the lower in 46, by 0.023 nats on average (the figures issue 22 quotes from an
    analysis outside the repository)."""
    epochs = pd.read_csv(PROJECT_ROOT / "results" / "cpu-study-v1" / "metrics" / "plots" / "epoch_curves.csv")
    by_set = matched_gap_by_run_set(matched_val_gaps(epochs, 4.0))
    assert set(by_set) == {"medium_training", "long_training"}  # the main runs never fit below 4.0 nats
    assert sum(s["points"] for s in by_set.values()) == 53
    assert sum(s["ternary_lower"] for s in by_set.values()) == 46
    everything = matched_val_gaps(epochs, 4.0)["gap"].mean()
    assert everything == pytest.approx(-0.0235, abs=5e-4)
    assert all(len(s["per_seed"]) == 2 for s in by_set.values())


def test_the_re_run_cpu_study_at_matched_loss():
    """The issue-23 re-run (results/cpu-study), the README's figures: all 53 matchable points below 4.0
    nats have the ternary model's validation loss the lower, by 0.033 nats on average."""
    epochs = pd.read_csv(PROJECT_ROOT / "results" / "cpu-study" / "metrics" / "plots" / "epoch_curves.csv")
    gaps = matched_val_gaps(epochs, 4.0)
    by_set = matched_gap_by_run_set(gaps)
    assert {name: (s["points"], s["ternary_lower"]) for name, s in by_set.items()} == \
        {"medium_training": (16, 16), "long_training": (37, 37)}
    assert gaps["gap"].mean() == pytest.approx(-0.0328, abs=5e-4)


def _run(ratio: float, steps: int = 600) -> dict:
    return {"train_val_ratio": ratio, "steps": steps}


def _cells():
    from pipeline.analysis.regimes import Cell

    return [Cell("main", 64, 200, "constant", True), Cell("w64_s1000", 64, 1000, "constant", True),
            Cell("notebook_pair", 64, None, "onecycle", False)]


def test_the_regime_table_says_direction_regime_and_size_per_cell():
    from pipeline.analysis.regimes import regime_table
    from tests.test_claims_rules import TOL

    runs = {  # main: the twin memorises and the ternary model stays near 1: the paper's direction and size
        "main": {"studied": [_run(1.02), _run(1.05), _run(1.04)], "baseline": [_run(3.4), _run(3.6), _run(3.5)]},
        # w64_s1000: the ternary model overfits more on every seed
        "w64_s1000": {"studied": [_run(1.9), _run(2.0), _run(2.1)], "baseline": [_run(1.6), _run(1.65), _run(1.8)]},
        # notebook_pair: two seeds only
        "notebook_pair": {"studied": [_run(1.0), _run(1.01)], "baseline": [_run(5.0), _run(7.0)]}}
    epochs = pd.DataFrame(_curves("w64_s1000", "studied", 0, [3.5, 3.0], [3.6, 3.4])
                          + _curves("w64_s1000", "baseline", 0, [3.6, 3.2], [3.8, 3.5]))
    table = regime_table(_cells(), runs, matched_val_gaps(epochs, 4.0), TOL).set_index("run_set")
    main, w1000, nb = table.loc["main"], table.loc["w64_s1000"], table.loc["notebook_pair"]
    assert (main["direction"], main["regime"], bool(main["paper_size"])) == ("paper", "memorised", True)
    assert main["contrast"] == pytest.approx(((3.4 - 1.02) + (3.6 - 1.05) + (3.5 - 1.04)) / 3)
    diffs = [1.6 - 1.9, 1.65 - 2.0, 1.8 - 2.1]
    assert w1000["contrast_p"] == pytest.approx(stats.ttest_1samp(diffs, 0.0).pvalue)
    assert (w1000["direction"], w1000["regime"], bool(w1000["paper_size"])) == ("reversed", "overfit measurably", False)
    assert w1000["matched_points"] == 1 and w1000["regime_bar"] == 1.5  # 3.0 is below the twin's range
    assert nb["direction"] == "undecided" and nb["seeds"] == 2 and nb["steps"] == 600
    assert not bool(nb["causal_baseline"]) and nb["cell"] == "notebook_pair: width 64, all stories, onecycle, maskless baseline"


def test_regime_curves_pair_seeds_per_epoch_and_keep_the_cells_order():
    import math

    from pipeline.analysis.regimes import regime_curves

    epochs = pd.DataFrame(_curves("w64_s1000", "studied", 0, [3.0, 2.0], [3.1, 2.5])
                          + _curves("w64_s1000", "baseline", 0, [3.0, 1.5], [3.2, 2.6])
                          + _curves("main", "studied", 0, [3.0], [3.0]) + _curves("main", "baseline", 0, [3.0], [3.5])
                          + _curves("notebook_init", "studied", 0, [3.0], [3.0]))  # one model: left out
    curves = regime_curves(epochs, _cells())
    assert curves["arm"].tolist() == ["main", "w64_s1000", "w64_s1000"]
    last = curves.iloc[-1]
    assert last["fp32_ratio"] == pytest.approx(math.exp(2.6 - 1.5))
    assert last["contrast"] == pytest.approx(math.exp(1.1) - math.exp(0.5)) and last["seeds"] == 1


def test_the_report_names_the_cells_by_what_they_show():
    from pipeline.analysis.regimes import regime_table
    from pipeline.analysis.report.regime import regime_findings, regime_view
    from tests.test_claims_rules import TOL

    runs = {"main": {"studied": [_run(1.02), _run(1.05), _run(1.04)], "baseline": [_run(3.4), _run(3.6), _run(3.5)]},
            "w64_s1000": {"studied": [_run(1.2), _run(1.1), _run(1.0)], "baseline": [_run(1.1), _run(1.2), _run(1.15)]}}
    table = regime_table(_cells()[:2], runs, matched_val_gaps(pd.DataFrame(columns=["arm", "role", "seed", "split",
                                                                                      "epoch", "loss"]), 4.0), TOL)
    lines = regime_findings(table)
    assert lines[0].endswith("holds in: `main`.") and lines[1].endswith("in: none.")
    assert any(line.startswith("`w64_s1000` is undecided: 3 seeds, p =") for line in lines)
    assert any("In `w64_s1000` the FP32 twin did not reach its regime (val/train 1.15 < 1.5" in line for line in lines)
    assert lines[-1].endswith("is reached in: `main`.")
    view = regime_view(table)
    assert view.loc[0, "stories"] == "200" and view.loc[0, "twin reached"] == "memorised (bar 3)"
    assert view.loc[0, "ternary minus FP32 val loss at matched train loss"] == "-"


def test_the_findings_say_where_along_the_length_axis_the_sign_reverses():
    from pipeline.analysis.report.regime import curve_findings

    rows = [("main", 1, 1.0, -0.01), ("main", 2, 1.5, -0.20), ("main", 3, 2.5, -0.05), ("main", 4, 4.0, 0.8),
            ("w64_s1000", 1, 1.0, 0.01), ("w64_s1000", 2, 1.2, 0.1)]
    curves = pd.DataFrame([{"cell": arm, "arm": arm, "epoch": epoch, "seeds": 3, "fp32_ratio": ratio,
                            "ternary_ratio": ratio - contrast, "contrast": contrast} for arm, epoch, ratio, contrast in rows])
    (line,) = curve_findings(curves)  # w64_s1000 never goes below zero: no line
    assert line.startswith("Along the length axis `main` reverses at 3 of 4 epochs (epochs 1-3, the twin's ratio "
                           "1.00-2.50; lowest contrast -0.20 at a twin ratio of 1.50;")


def test_the_sparsity_view_says_where_the_zeros_ended_and_whether_they_still_moved():
    from pipeline.analysis.report.regime import sparsity_view

    curves = pd.DataFrame([{"run_set": "main", "epoch": epoch, "step": 10 * epoch, "seeds": 3,
                            "zero_pct": 31.0 + 0.1 * epoch, "middle_minus_boundary": 0.05 * epoch}
                           for epoch in range(1, 9)])
    (row,) = sparsity_view(curves, 31.0).to_dict("records")
    assert row["steps"] == "80" and row["seeds"] == 3 and row["zero codes at the end (%)"] == "31.80"
    assert row["minus the Gaussian level (points)"] == "+0.80"
    assert row["change over the last quarter (points)"] == "+0.20"  # epochs 6 to 8
    assert row["middle minus boundary at the end (points)"] == "+0.40"


def test_the_sparsity_view_of_short_runs_looks_one_epoch_back_and_never_at_itself():
    from pipeline.analysis.report.regime import sparsity_view

    def view(epochs: int) -> dict:
        curves = pd.DataFrame([{"run_set": "main", "epoch": e, "step": e, "seeds": 1, "zero_pct": 31.0 + e,
                                "middle_minus_boundary": 0.0} for e in range(1, epochs + 1)])
        return sparsity_view(curves, 31.0).to_dict("records")[0]

    assert view(1)["change over the last quarter (points)"] == "n/a"
    assert view(3)["change over the last quarter (points)"] == "+1.00"  # fewer than 4 epochs: one back


def _archived_baseline(root, archive: str, arm: str, seeds: dict[int, tuple[list[float], float | None]],
                       attention: str, dim: int = 64) -> None:
    """A hand-made archive holding ``arm``'s FP32 baselines: per seed its end-of-epoch training losses and leak probe."""
    import yaml

    from pipeline.io import write_json
    from pipeline.layout import RunPaths

    base = root / "results" / archive
    base.mkdir(parents=True, exist_ok=True)
    params = {"model": {"arch": {"dim": 64}, "baseline": {"attention": "causal"}},
              "arms": {"seeds": sorted(seeds), "run": [arm],
                       "defs": {arm: {"roles": ["baseline"],
                                      "changes": {"model.arch.dim": dim, "model.baseline.attention": attention}}}}}
    path = base / "params.yaml"
    if path.is_file():  # a second arm of the same archive
        old = yaml.safe_load(path.read_text())
        old["arms"]["run"].append(arm)
        old["arms"]["defs"] |= params["arms"]["defs"]
        params = old
    path.write_text(yaml.safe_dump(params))
    for seed, (losses, leak) in seeds.items():
        paths = RunPaths.for_run("baseline", seed, base, arm)
        paths.eval_curve("train").parent.mkdir(parents=True)
        pd.DataFrame({"step": [100 * (i + 1) for i in range(len(losses))], "train_loss": losses}).to_csv(
            paths.eval_curve("train"), sep="\t", index=False)
        write_json(paths.metrics, {"steps": 100 * len(losses), "train_loss": losses[-1], "val_loss": losses[-1] + 0.1}
                   | ({} if leak is None else {"leak_nats": leak}))


def test_the_leak_table_sets_each_maskless_baseline_against_the_bar_and_the_causal_twin(tmp_path):
    """The notebook pair's baseline (no copying), its causal twin and two attempts of profile
    leak-attempts, one whose probe clears the bar (it copies) and one whose does not."""
    from pipeline.analysis.report.inputs import leak_runs
    from pipeline.analysis.report.regime import leak_findings, leak_view

    _archived_baseline(tmp_path, "regime-map", "notebook_pair",
                       {0: ([5.5, 3.5], 0.43), 1: ([5.4, 3.4], 0.48)}, "bidirectional")
    _archived_baseline(tmp_path, "regime-map", "notebook_fixed", {0: ([5.5, 3.4], None)}, "causal")
    _archived_baseline(tmp_path, "leak-attempts", "leak_wide", {0: ([4.0, 0.2], 3.1)}, "bidirectional", dim=128)
    _archived_baseline(tmp_path, "leak-attempts", "leak_long", {0: ([5.5, 3.0, 2.9], 0.45)}, "bidirectional")
    runs = leak_runs(tmp_path)
    view = leak_view(runs, bar=0.5)
    assert view["run"].tolist() == ["`notebook_pair` (results/regime-map)", "`notebook_fixed` (results/regime-map)",
                                    "`leak_wide` (results/leak-attempts)", "`leak_long` (results/leak-attempts)"]
    assert view["leak (probe >= 0.5)"].tolist() == ["no", "n/a (causal)", "yes", "no"]
    assert view["training loss, first epoch -> end"].tolist() == ["5.45 -> 3.45", "5.50 -> 3.40", "4.00 -> 0.20",
                                                                  "5.50 -> 2.90"]
    assert view["width"].tolist() == [64, 64, 128, 64] and view["steps"].tolist() == ["200", "200", "200", "300"]
    findings = leak_findings(runs, 0.5, {250: 0.37})
    assert "against the causal twin's 3.40 (`notebook_fixed`, width 64, 200 steps)" in findings[0]
    assert findings[1].endswith("a leak (it reads later tokens).") and findings[2].endswith("no leak.")
    assert findings[-1] == ("The probe clears the bar in: `leak_wide`. Training loss at the end: `notebook_pair` 3.45, "
                            "`leak_wide` 0.20, `leak_long` 2.90; a model that copies the next token collapses, as the "
                            "notebook's own baseline did (its log: 0.37 at step 250).")


def test_a_leak_in_some_seeds_only_is_said_so_and_absent_archives_give_no_rows(tmp_path):
    from pipeline.analysis.report.inputs import leak_runs
    from pipeline.analysis.report.regime import leak_findings

    assert leak_runs(tmp_path) == []
    _archived_baseline(tmp_path, "regime-map", "notebook_pair", {0: ([5.0, 0.3], 2.0), 1: ([5.0, 3.5], 0.4)},
                       "bidirectional")
    findings = leak_findings(leak_runs(tmp_path), 0.5, {250: 0.37})
    assert "no causal twin archived yet" in findings[0] and findings[0].endswith("a leak in 1 of 2 seeds.")
    assert findings[-1].startswith("The probe clears the bar in: `notebook_pair` (1 of 2 seeds).")
