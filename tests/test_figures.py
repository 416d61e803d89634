"""The report's figures (pipeline/analysis/figures.py) on small frames: models named as the text names
them, legends outside the data, axes titled with a quantity, zero-code axes fitted to the data and the
Gaussian level (at least 4 points), empty run sets left out, and identical bytes for identical inputs."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from pipeline.analysis import figures

DEFS = {"learned_scale": {"roles": ["studied"], "changes": {"model.scale": "learned"}},
        "maskless_baseline": {"roles": ["baseline"], "changes": {"model.baseline.attention": "bidirectional",
                                                                 "model.baseline.positions": "learned"}}}


@pytest.fixture
def drawn(monkeypatch):
    """The figures each call drew, kept open for inspection (then closed)."""
    kept: list[plt.Figure] = []
    save = figures.save

    def keep(fig, path):
        kept.append(fig)
        fig.savefig(path, format="png")
        return path
    monkeypatch.setattr(figures, "save", keep)
    yield kept
    monkeypatch.setattr(figures, "save", save)
    for fig in kept:
        plt.close(fig)


def _legend(ax: plt.Axes) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_depth_plot_of_run_sets_leaves_empty_ones_out_and_keeps_the_legend_off_the_data(drawn, tmp_path):
    depth = pd.DataFrame({"layer": [1, 2, 3, 4], "studied": [30.9, 31.0, 31.1, 31.0],
                          "learned_scale studied": [39.3, 35.8, 27.8, 34.7],
                          "maskless_baseline baseline": [31.0, 31.1, 30.9, 31.0],
                          "long_training studied": [np.nan] * 4})
    figures.sparsity_by_depth_runs(depth, [2, 3], 31.0, DEFS, tmp_path / "depth.png")
    (ax,) = drawn[0].axes
    assert _legend(ax) == ["middle layers", "ternary", "ternary, learned scale",
                           "the notebook's baseline (FP32, no causal mask)", "Gaussian weight (31.0%)"]
    assert ax.get_legend().get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1  # beside the axes
    low, high = ax.get_ylim()
    assert low < 27.8 and high > 39.3 and ax.get_ylabel() == figures.ZERO_AXIS
    colours = {line.get_color() for line in ax.get_lines()[:3]}
    assert len(colours) == 3  # one colour per run set, none shared


def test_a_flat_zero_axis_spans_at_least_four_points_around_the_gaussian_level():
    fig, ax = plt.subplots()
    figures.fit_zero_axis(ax, [30.9, 31.2], 31.0)
    low, high = ax.get_ylim()
    assert high - low == pytest.approx(figures.MIN_ZERO_SPAN_POINTS) and low < 30.9 and high > 31.2
    plt.close(fig)


def _layers() -> pd.DataFrame:
    rows = [{"role": role, "seed": seed, "layer": layer, "module": "attn.wq", "zero": 0.31 + 0.001 * seed,
             "weights": 64} for role in ("studied", "baseline") for seed in (0, 1) for layer in (1, 2, 3)]
    return pd.DataFrame(rows)


def test_this_runs_depth_plot_names_the_models_ternary_first(drawn, tmp_path):
    figures.sparsity_by_depth(_layers(), [2], 31.0, tmp_path / "d.png")
    (ax,) = drawn[0].axes
    assert _legend(ax) == ["middle layers", "ternary", "FP32 twin", "Gaussian weight (31.0%)"]
    assert ax.get_xlabel() == "layer (1-based)" and ax.get_ylim()[1] - ax.get_ylim()[0] >= 4.0 - 1e-9


def test_epoch_curves_title_each_panel_with_its_training_length(drawn, tmp_path):
    epochs = pd.DataFrame([{"arm": arm, "role": role, "seed": 0, "split": split, "epoch": epoch, "loss": 5.0 - epoch / 10}
                           for arm in ("main", "long_training") for role in ("studied", "baseline")
                           for split in ("train", "val") for epoch in (1, 2, 3)])
    figures.epoch_curves(epochs, tmp_path / "e.png", {"main": "main runs, 20 epochs",
                                                      "long_training": "long_training arm, 40 epochs"})
    titles = [ax.get_title() for ax in drawn[0].axes if ax.get_title()]
    assert titles == ["main runs, 20 epochs", "long_training arm, 40 epochs"]
    assert drawn[0].axes[0].get_ylabel() == "loss (nats/token, no smoothing)"
    legend = [text.get_text() for text in drawn[0].legends[0].get_texts()]
    assert "ternary" in legend and "FP32 twin" in legend


def test_identical_inputs_give_identical_png_bytes(tmp_path):
    first = figures.sparsity_by_depth(_layers(), [2], 31.0, tmp_path / "a.png").read_bytes()
    second = figures.sparsity_by_depth(_layers(), [2], 31.0, tmp_path / "b.png").read_bytes()
    assert first == second


def test_sparsity_over_training_draws_both_panels_against_steps_with_their_references(drawn, tmp_path):
    curves = pd.DataFrame([{"run_set": run_set, "epoch": epoch, "step": 10 * epoch, "seeds": 3,
                            "zero_pct": 31.0 + shift * epoch, "zero_pct_middle": 0.0, "zero_pct_boundary": 0.0,
                            "middle_minus_boundary": -0.3 * epoch}
                           for run_set, shift in (("main", 0.5), ("w64_s1000", 1.0)) for epoch in (1, 2, 3)])
    figures.sparsity_over_training(curves, 31.0, 2.0, tmp_path / "s.png")
    left, right = drawn[0].axes
    assert left.get_xlabel() == right.get_xlabel() == "optimizer steps (end of each epoch)"
    assert left.get_ylim()[0] < 31.0 and left.get_ylim()[1] > 34.0  # the Gaussian level and the data
    low, high = right.get_ylim()
    assert low < -0.9 and high > 2.0  # the data below zero and the claims' bar above it
    assert _legend(right) == ["main", "w64_s1000"] and left.get_legend() is None
    assert right.get_legend().get_bbox_to_anchor().x0 > right.get_window_extent().x1 - 1  # beside the axes


def test_the_regime_map_keeps_small_and_large_contrasts_readable(drawn, tmp_path):
    curves = pd.DataFrame({"cell": ["main"] * 3, "arm": ["main"] * 3, "epoch": [1, 2, 3], "seeds": 3,
                           "fp32_ratio": [1.2, 3.0, 130.0], "ternary_ratio": [1.3, 2.5, 33.0],
                           "contrast": [-0.1, 0.5, 97.0]})
    figures.regime_map(curves, (3.51, 2.46), tmp_path / "r.png")
    ax, zoom = drawn[0].axes
    assert ax.get_yscale() == "symlog" and ax.get_xscale() == "log"
    assert 100 in ax.get_xticks() and ax.get_ylim()[0] < -0.1 and ax.get_ylim()[1] > 97.0
    assert zoom.get_xscale() == zoom.get_yscale() == "linear" and ax.get_legend() is None
    assert _legend(zoom) == ["main", "paper (3.51x FP32, contrast 2.46)"]


def test_the_regime_maps_zoom_shows_a_cell_that_never_overfits(drawn, tmp_path):
    """The notebook pair's ratios stay near 1: on the main panel it sits under the others at the origin;
    the zoom draws only the points with the twin's ratio up to 1.2, on linear axes."""
    curves = pd.DataFrame({"cell": ["main"] * 3 + ["notebook_pair"] * 2, "arm": ["main"] * 3 + ["notebook_pair"] * 2,
                           "epoch": [1, 2, 3, 1, 2], "seeds": 3, "fp32_ratio": [1.1, 3.0, 130.0, 1.0, 0.995],
                           "ternary_ratio": [1.2, 2.5, 33.0, 0.99, 0.958], "contrast": [-0.1, 0.5, 97.0, 0.01, 0.037]})
    figures.regime_map(curves, (3.51, 2.46), tmp_path / "r.png")
    _, zoom = drawn[0].axes
    drawn_x = sorted(x for line in zoom.get_lines() if line.get_linestyle() != "--" for x in line.get_xdata())
    assert drawn_x == [0.995, 1.0, 1.1]  # the zoomed points, nothing beyond 1.2
    low, high = zoom.get_ylim()
    assert low <= -0.1 and 0.037 < high < 1.0  # linear, scaled to the points near the origin
