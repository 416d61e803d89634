"""The offline plots page (pipeline/analysis/plots_html.py), built from small DVC-shaped plot specs and
parsed without a browser: no empty series (an arm that did not run is left out, not drawn at 0), one
chart per DVCLive metric with every run overlaid, single-point charts listed instead of drawn, every
axis titled with a quantity, GLUE x 100, and the Gaussian level on zero-code charts. The committed
page, where present, is held to the same checks."""

import json
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from pipeline.analysis.plots_html import UNTITLED, build_charts, readable, render_page, vegalite
from tests.conftest import PROJECT_ROOT

ZERO_TITLE = "zero codes (%, round(w / mean|w|))"


def _linear(x: str, x_label: str, y_label: str, rows: list[dict]) -> list[dict]:
    """A render shaped as `dvc plots show --json` gives it for the linear template."""
    content = {"encoding": {"x": {"field": x, "type": "quantitative", "title": x_label}},
               "layer": [{"encoding": {"y": {"field": "dvc_inferred_y_value", "type": "quantitative",
                                             "title": y_label}}}],
               "data": {"values": rows}}
    return [{"type": "vega", "revisions": ["workspace"], "content": content}]


def _columns(x: str, table: dict[str, list]) -> list[dict]:
    """DVC's long rows of a multi-column table: one row per (x, column), empty cells kept as ''."""
    columns = [name for name in table if name != x]
    return [{x: str(value), **{c: str(table[c][i]) for c in columns}, "dvc_inferred_y_value": str(table[column][i]),
             "rev": "workspace", "field": column} for column in columns for i, value in enumerate(table[x])]


def _live(metric: str, points: list[tuple[int, float]]) -> list[dict]:
    name = metric.rsplit("/", 1)[1]
    content = {"encoding": {"x": {"field": "step", "type": "quantitative", "title": "step"}},
               "layer": [{"encoding": {"y": {"field": name, "type": "quantitative", "title": name}}}],
               "data": {"values": [{"step": str(s), name: str(v), "rev": "workspace"} for s, v in points]}}
    return [{"type": "vega", "revisions": ["workspace"], "content": content}]


def _specs() -> dict[str, list[dict]]:
    depth = {"layer": [1, 2, 3], "studied": [30.9, 31.1, 31.0], "baseline": [31.0, 30.8, 31.2],
             "long_training studied": ["", "", ""]}  # an arm that did not run
    glue = {"encoding": {"x": {"field": "score", "type": "quantitative", "title": "GLUE dev score"},
                         "y": {"field": "run", "type": "nominal", "title": "GLUE task and model"}},
            "data": {"values": [{"run": run, "score": score, "rev": "workspace"} for run, score in
                                (("mrpc studied", "0.8125"), ("mrpc baseline", "0.8122"),
                                 ("mrpc constant predictor", "0.8122"))]}}
    return {
        "Zero weights by depth": _linear("layer", "layer (1-based)", ZERO_TITLE, _columns("layer", depth)),
        "GLUE dev headline metric": [{"type": "vega", "revisions": ["workspace"], "content": glue}],
        "Validation loss per epoch": _linear("epoch", "epoch", "validation loss (nats/token)",
                                             _columns("epoch", {"epoch": [1], "studied": [4.1], "baseline": [4.3]})),
        "runs/studied/seed_0/live/plots/metrics/train/loss.tsv": _live("train/loss", [(5, 5.6), (10, 5.3)]),
        "runs/studied/seed_1/live/plots/metrics/train/loss.tsv": _live("train/loss", [(5, 5.7), (10, 5.2)]),
        "runs/arms/long_training/seed_0/baseline/live/plots/metrics/train/loss.tsv": _live("train/loss",
                                                                                            [(5, 5.9), (10, 5.5)]),
        "runs/studied/seed_0/live/plots/metrics/eval/val_loss.tsv": _live("eval/val_loss", [(129, 4.1)]),
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the params that name the arms' run sets."""
    params = {"arms": {"defs": {"long_training": {"roles": ["studied", "baseline"], "changes": {"train.epochs": 40}}}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def page_problems(page: str) -> list[str]:
    """What a reader would trip over on a plots page: a chart without series or data, an axis without
    a quantity, a legend entry without data."""
    problems = []
    for figure in BeautifulSoup(page, "html.parser").find_all("figure", class_="chart"):
        title = figure.find("h2").get_text()
        series = json.loads(figure["data-series"])
        if not series or int(figure["data-min-points"]) < 1:
            problems.append(f"{title}: empty series")
        axes = [text.get_text() for text in figure.select("g.role-axis-title text")]
        if len(axes) != 2 or any(axis.strip() in UNTITLED for axis in axes):
            problems.append(f"{title}: axis titles {axes}")
        legend = {text.get_text() for text in figure.select("g.role-legend-label text")}
        if not set(series) <= legend or not legend - set(series) <= {"Gaussian weight (31.0%)"}:
            problems.append(f"{title}: legend {sorted(legend)} vs series {series}")
    return problems


def test_empty_series_are_left_out_and_single_point_charts_listed(project):
    charts, left_out = readable(build_charts(_specs(), project))
    titles = [chart.title for chart in charts]
    assert titles == ["This run: Zero weights by depth", "This run: GLUE dev headline metric",
                      "Every run, as DVCLive logged it: training loss (nats/token, label-smoothed) (train/loss)"]
    assert list(charts[0].series()) == ["ternary", "FP32 twin"]  # the arm that did not run is not drawn at 0
    assert left_out == ["This run: Validation loss per epoch: one point per series (ternary, FP32 twin)",
                        "Every run, as DVCLive logged it: validation loss at epoch end (nats/token) (eval/val_loss): "
                        "one point per series (ternary, seed 0)"]


def test_dvclive_runs_are_overlaid_in_one_chart_named_as_the_report_names_them(project):
    live = readable(build_charts(_specs(), project))[0][-1]
    assert list(live.series()) == ["ternary, seed 0", "ternary, seed 1", "FP32 twin, 40 epochs, seed 0"]
    assert (live.x_title, live.y_title) == ("optimizer step", "training loss (nats/token, label-smoothed)")
    spec = vegalite(live)
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == list(live.series())  # one colour each


def test_zero_codes_fit_the_data_with_the_gaussian_level_and_glue_is_x100(project):
    zero, glue = readable(build_charts(_specs(), project))[0][:2]
    low, high = vegalite(zero)["layer"][0]["encoding"]["y"]["scale"]["domain"]
    assert high - low >= 4.0 and low > 28 and high < 34  # not from 0, at least 4 points
    assert vegalite(zero)["layer"][1]["data"]["values"][0]["y"] == pytest.approx(31.0, abs=0.05)
    assert [point["x"] for point in glue.points] == pytest.approx([81.25, 81.22, 81.22])
    assert glue.x_title == "GLUE dev score x 100" and list(glue.series()) == ["ternary", "FP32 twin",
                                                                             "constant predictor"]


def test_the_rendered_page_has_no_empty_series_and_every_axis_titled(project):
    charts, left_out = readable(build_charts(_specs(), project))
    page = render_page(charts, left_out, "dvc plots show")
    assert page_problems(page) == []
    soup = BeautifulSoup(page, "html.parser")
    assert len(soup.find_all("figure", class_="chart")) == 3 and "<script" not in page
    assert "one point per series" in soup.find("ul").get_text()


def test_the_checks_catch_an_untitled_axis_and_an_empty_series(project):
    charts, _ = readable(build_charts(_specs(), project))
    charts[0].y_title = "y"
    assert page_problems(render_page(charts[:1], [], "t")) == ["This run: Zero weights by depth: axis titles "
                                                               "['layer (1-based)', 'y']"]
    broken = render_page(charts[1:2], [], "t").replace('data-min-points="1"', 'data-min-points="0"')
    assert page_problems(broken) == ["This run: GLUE dev headline metric: empty series"]


def test_the_committed_plots_page_passes_the_same_checks():
    page = PROJECT_ROOT / "reports" / "plots.html"
    if not page.is_file():
        pytest.skip("reports/plots.html not written (python -m pipeline.analysis.plots_html)")
    assert page_problems(page.read_text(encoding="utf-8")) == []


def test_every_declared_plot_titles_both_axes():
    plots = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["plots"]
    for entry in plots:
        for plot_id, spec in entry.items():
            assert spec.get("x_label") not in UNTITLED and spec.get("y_label") not in UNTITLED, plot_id
