"""``dvc plots show`` / ``dvc plots diff`` as one self-contained HTML page that renders offline.

DVC's own HTML loads vega from a CDN, so without network it is a blank page. This asks DVC for the
plots (``--json``: the data of each plot and its axis labels), redraws each as a chart a reader can
read and renders it to SVG with ``vl-convert`` (which bundles Vega): no script, no network.

    python -m pipeline.analysis.plots_html                      # this workspace -> reports/plots.html
    python -m pipeline.analysis.plots_html --diff HEAD~1        # workspace vs a revision, side by side
    python -m pipeline.analysis.plots_html --diff rev1 rev2 -o cmp.html

What the redrawing does, so that no chart misleads: run sets without data (arms that did not run)
are left out, not drawn at 0; each series has its own colour, named as the report names it (ternary,
FP32 twin, the notebook's baseline), with the legend beside the data; axis titles name the quantity
and its unit (dvc.yaml's ``x_label``/``y_label``, or :data:`LIVE_QUANTITIES` for the DVCLive curves);
y ranges fit the data, and zero-code charts draw the Gaussian level (31.0%) and span at least 4
points; the per-run DVCLive files become one chart per metric with every run overlaid; a chart with
a single point per series is listed, not drawn; GLUE scores are printed x 100 as in the report.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.analysis.report.names import column_name, run_set_name
from pipeline.io import write_text
from pipeline.metrics import GAUSSIAN_ZERO_FRACTION

# Past ~300 lines for a reason: reading DVC's renders, the readability rules and the Vega-Lite specs
# are one pipeline from `dvc plots --json` to the page, and its tests build pages from DVC-shaped specs.

DEFAULT_OUT = Path("reports/plots.html")
LIVE_MARKER = "/live/plots/metrics/"  # DVCLive's per-run files: runs/<run>/live/plots/metrics/<metric>.tsv
ZERO_AXIS = "zero codes (%, round(w / mean|w|))"
MIN_ZERO_SPAN_POINTS = 4.0  # as the report's figures: twice the sparsity claims' 2-point tolerance
LIVE_QUANTITIES = {"train/loss": "training loss (nats/token, label-smoothed)", "train/lr": "learning rate",
                   "eval/train_loss": "training-set loss at epoch end (nats/token)",
                   "eval/val_loss": "validation loss at epoch end (nats/token)", "eval/zero_pct": ZERO_AXIS}
X_QUANTITIES = {"step": "optimizer step", "epoch": "epoch", "layer": "layer (1-based)"}
UNTITLED = {"", "x", "y", "value", "dvc_inferred_y_value"}  # what DVC writes when dvc.yaml names no quantity
X100_FIELDS = {"score"}  # GLUE scores arrive as fractions (summarize's glue.csv) and print x 100


@dataclass
class Chart:
    """One chart of the page: a line chart (``points``: x, y, series, revision) or a bar chart of
    GLUE scores (x: the score, category: the task), its axis titles and a caption."""

    title: str
    x_title: str
    y_title: str
    kind: str  # "line" or "bar"
    points: list[dict[str, Any]] = field(default_factory=list)
    caption: str = ""

    def series(self) -> dict[str, int]:
        """Points per series, in first-seen order."""
        counts: dict[str, int] = {}
        for point in self.points:
            counts[point["series"]] = counts.get(point["series"], 0) + 1
        return counts

    @property
    def zero_codes(self) -> bool:
        """Whether the chart plots zero codes (it then draws the Gaussian level)."""
        return self.y_title.startswith("zero codes")


def dvc_plot_specs(revisions: list[str] | None) -> dict[str, list[dict]]:
    """Plot id -> DVC's rendered Vega-Lite specs (``dvc plots show`` or ``diff REVS`` with ``--json``)."""
    command = [sys.executable, "-m", "dvc", "plots"] + (["diff", *revisions] if revisions is not None else ["show"])
    done = subprocess.run(command + ["--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)["data"]


def _number(value: Any) -> float | None:
    """A plot cell as a number; None for an empty cell (a run set that did not run) or text."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _encoding(spec: Any, channel: str) -> dict | None:
    """The first ``channel`` encoding (with a field) anywhere in a DVC template's spec or its layers."""
    if isinstance(spec, dict):
        found = spec.get("encoding", {}).get(channel)
        if isinstance(found, dict) and "field" in found and "aggregate" not in found:
            return found
        for layer in spec.get("layer", []):
            found = _encoding(layer, channel)
            if found is not None:
                return found
    return None


def _title(encoding: dict, quantities: dict[str, str]) -> str:
    """An axis title: dvc.yaml's label, else the quantity its field names (never ``y`` or ``value``)."""
    title = str(encoding.get("title") or "")
    if title in UNTITLED or title == encoding["field"]:
        return quantities.get(encoding["field"], encoding["field"] if encoding["field"] not in UNTITLED else "")
    return title


def _live_series(plot_id: str, defs: dict) -> tuple[str, str]:
    """(metric, run name) of a DVCLive per-run plot: ``runs/studied/seed_0/live/plots/metrics/train/loss.tsv``
    -> (``train/loss``, ``ternary, seed 0``); an arm's run is named by what the arm changes."""
    run, metric = plot_id.split(LIVE_MARKER, 1)
    parts = run.split("/")[1:]
    arm, seed, role = (parts[1], parts[2], parts[3]) if parts[0] == "arms" else (None, parts[1], parts[0])
    return metric.rsplit(".", 1)[0], f"{run_set_name(role, arm, defs)}, seed {seed.removeprefix('seed_')}"


def _line_chart(plot_id: str, content: dict, defs: dict) -> Chart:
    """A line chart from one DVC render: one series per run-set column (a dvc.yaml plot) or the run a
    DVCLive file belongs to; empty cells left out."""
    x, y = _encoding(content, "x"), _encoding(content, "y")
    metric, run = _live_series(plot_id, defs) if LIVE_MARKER in plot_id else ("", "")
    points = []
    for row in content["data"]["values"]:
        value, position = _number(row.get(y["field"])), _number(row.get(x["field"]))
        if value is None or position is None:
            continue
        series = run or column_name(str(row.get("field", y["field"])), defs)
        points.append({"x": position, "y": value, "series": series, "rev": str(row.get("rev", "workspace"))})
    y_title = LIVE_QUANTITIES.get(metric, metric) if metric else _title(y, {})
    return Chart(title=metric or plot_id, x_title=_title(x, X_QUANTITIES), y_title=y_title, kind="line", points=points)


def _bar_chart(plot_id: str, content: dict, defs: dict) -> Chart:
    """A bar chart of GLUE scores from one DVC render: rows ``<task> <run set>`` become the task and a
    model per bar (x 100 where the field is a fraction)."""
    x, y = _encoding(content, "x"), _encoding(content, "y")
    factor = 100.0 if x["field"] in X100_FIELDS else 1.0
    points = []
    for row in content["data"]["values"]:
        value = _number(row.get(x["field"]))
        if value is None:
            continue
        task, _, model = str(row[y["field"]]).partition(" ")
        points.append({"x": value * factor, "category": task, "series": column_name(model, defs),
                       "rev": str(row.get("rev", "workspace"))})
    x_title = _title(x, {}) + (" x 100" if factor != 1.0 else "")
    return Chart(title=plot_id, x_title=x_title, y_title="GLUE task", kind="bar", points=points,
                 caption="Each model's mean over seeds beside the dev set's constant predictor.")


def plot_files(dvc_yaml: Path) -> dict[str, str]:
    """Each dvc.yaml plot's first y file (whose run's params name its run sets)."""
    plots = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8")).get("plots", [])
    files = {}
    for entry in plots:
        for plot_id, spec in entry.items():
            y = spec.get("y") if isinstance(spec, dict) else None
            files[plot_id] = next(iter(y)) if isinstance(y, dict) else str(y or plot_id)
    return files


def _defs(root: Path, data_file: str) -> dict:
    """The ``arms.defs`` of the params of the run a plot's data belongs to: an archive's
    (``results/<name>/params.yaml``) for its files, else the workspace's."""
    parts = Path(data_file).parts
    params = root / "results" / parts[1] / "params.yaml" if parts[:1] == ("results",) and len(parts) > 2 \
        else root / "params.yaml"
    if not params.is_file():
        return {}
    return (yaml.safe_load(params.read_text(encoding="utf-8")) or {}).get("arms", {}).get("defs", {})


def build_charts(specs: dict[str, list[dict]], root: Path = Path(".")) -> list[Chart]:
    """The page's charts, in dvc.yaml's order (those of this run's files headed ``This run:``), then
    one chart per DVCLive metric with every run's file overlaid (``root``: the project, for dvc.yaml
    and the params that name the run sets)."""
    files = plot_files(root / "dvc.yaml") if (root / "dvc.yaml").is_file() else {}
    charts: list[Chart] = []
    live: dict[str, Chart] = {}
    for plot_id, renders in specs.items():
        data_file = files.get(plot_id, plot_id)
        defs = _defs(root, data_file)
        for rendered in renders:
            content = rendered.get("content")
            if not isinstance(content, dict) or not isinstance(content.get("data", {}).get("values"), list):
                continue
            bar = _encoding(content, "y") is not None and _encoding(content, "y").get("type") == "nominal"
            chart = (_bar_chart if bar else _line_chart)(plot_id, content, defs)
            if LIVE_MARKER not in plot_id:
                chart.title = plot_id if data_file.startswith("results/") else f"This run: {plot_id}"
                charts.append(chart)
            elif chart.title in live:
                live[chart.title].points.extend(chart.points)
            else:
                live[chart.title] = chart
    for metric, chart in live.items():
        chart.title = f"Every run, as DVCLive logged it: {chart.y_title} ({metric})"
        chart.caption = "One line per run (model and seed)."
    return charts + list(live.values())


def readable(charts: list[Chart]) -> tuple[list[Chart], list[str]]:
    """The charts worth drawing, and a line for each left out: no data at all, or a line chart whose
    every series has a single point (one epoch: nothing to see)."""
    kept, left_out = [], []
    for chart in charts:
        counts = chart.series()
        if not counts:
            left_out.append(f"{chart.title}: no data in these revisions")
        elif chart.kind == "line" and max(counts.values()) < 2:
            left_out.append(f"{chart.title}: one point per series ({', '.join(counts)})")
        else:
            kept.append(chart)
    return kept, left_out


def _zero_domain(chart: Chart, reference: float) -> list[float]:
    """A zero-code y range: the data and the Gaussian level, at least :data:`MIN_ZERO_SPAN_POINTS` wide."""
    values = [point["y"] for point in chart.points] + [reference]
    low, high = min(values), max(values)
    pad = max(0.5, (MIN_ZERO_SPAN_POINTS - (high - low)) / 2)
    return [round(low - pad, 2), round(high + pad, 2)]


def _colour(chart: Chart) -> dict:
    """One colour per series, in first-seen order, the legend to the right of the data."""
    series = list(chart.series())
    return {"field": "series", "type": "nominal", "title": None, "sort": series,
            "scale": {"domain": series, "scheme": "tableau10" if len(series) <= 10 else "tableau20"},
            "legend": {"orient": "right", "labelLimit": 360}}


def _reference_layer(chart: Chart, reference: float) -> dict:
    """The Gaussian level on a zero-code chart: a dashed rule with its own legend entry (its colour
    scale independent of the series')."""
    return {"data": {"values": [{"y": reference, "label": f"Gaussian weight ({reference:.1f}%)"}]},
            "mark": {"type": "rule", "strokeDash": [6, 4]},
            "encoding": {"y": {"field": "y", "type": "quantitative", "title": chart.y_title},
                         "color": {"field": "label", "type": "nominal", "title": None, "scale": {"range": ["#555"]},
                                   "legend": {"orient": "right", "symbolType": "stroke", "symbolStrokeDash": [6, 4],
                                              "labelLimit": 360}}}}


def vegalite(chart: Chart) -> dict:
    """The chart as a Vega-Lite spec: lines with points (a dash per revision when comparing several)
    or grouped horizontal bars; axes titled with the chart's quantities."""
    revisions = list(dict.fromkeys(point["rev"] for point in chart.points))
    dash = {"strokeDash": {"field": "rev", "type": "nominal", "title": "revision"}} if len(revisions) > 1 else {}
    whole = all(float(point["x"]).is_integer() for point in chart.points)
    x = {"field": "x", "type": "quantitative", "title": chart.x_title,
         **({"axis": {"tickMinStep": 1, "format": "d"}} if whole and chart.kind == "line" else {})}
    base = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": 520, "data": {"values": chart.points}}
    if chart.kind == "bar":
        offset = {"field": "series", "sort": list(chart.series())}
        return {**base, "mark": "bar", "encoding": {
            "x": {**x, "scale": {"zero": True}}, "y": {"field": "category", "type": "nominal", "title": chart.y_title},
            "yOffset": offset, "color": _colour(chart),
            **({"opacity": {"field": "rev", "type": "nominal", "title": "revision"}} if dash else {})}}
    y: dict[str, Any] = {"field": "y", "type": "quantitative", "title": chart.y_title, "scale": {"zero": False}}
    reference = 100.0 * GAUSSIAN_ZERO_FRACTION
    if chart.zero_codes:
        y["scale"] = {"zero": False, "nice": False, "domain": _zero_domain(chart, reference)}
    layers = [{"mark": {"type": "line", "point": True, "clip": True},
               "encoding": {"x": x, "y": y, "color": _colour(chart), **dash}}]
    if not chart.zero_codes:
        return {**base, "height": 300, "layer": layers}
    return {**base, "height": 300, "layer": layers + [_reference_layer(chart, reference)],
            "resolve": {"scale": {"color": "independent"}}}


def _figure(chart: Chart) -> str:
    """One chart as a ``<figure>`` holding its SVG; its series and the fewest points of any series are
    kept as data attributes, so the page can be checked without a browser."""
    import vl_convert

    counts = chart.series()
    caption = chart.caption + (f" Dashed: the {100 * GAUSSIAN_ZERO_FRACTION:.1f}% zero codes a Gaussian weight gives "
                               f"under round(w / mean|w|); the axis spans at least {MIN_ZERO_SPAN_POINTS:g} points."
                               if chart.zero_codes else "")
    return (f'<figure class="chart" data-series="{html.escape(json.dumps(list(counts)))}" '
            f'data-min-points="{min(counts.values())}"><h2>{html.escape(chart.title)}</h2>'
            f"{vl_convert.vegalite_to_svg(vegalite(chart))}<figcaption>{html.escape(caption.strip())}</figcaption>"
            "</figure>")


def render_page(charts: list[Chart], left_out: list[str], title: str) -> str:
    """One HTML page: a heading, a figure per chart, and the charts left out with why."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             "<style>body{font-family:sans-serif;max-width:1100px;margin:24px auto}figure{margin:0 0 28px 0}"
             "figcaption{color:#444;font-size:14px}h2{font-size:18px}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>The plots of dvc.yaml and the runs' DVCLive curves, drawn offline "
             "(inline SVG, no script). Series are named as in the report: ternary, FP32 twin, the notebook's "
             "baseline; an arm's runs by what the arm changes.</p>"]
    parts += [_figure(chart) for chart in charts]
    if left_out:
        parts.append("<h2>Left out</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in left_out) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write the page for this workspace or the revisions given to ``--diff``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diff", nargs="*", metavar="REV", help="compare revisions (none: workspace vs HEAD)")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    charts, left_out = readable(build_charts(dvc_plot_specs(args.diff)))
    label = "dvc plots diff " + " ".join(args.diff) if args.diff is not None else "dvc plots show"
    write_text(args.out, render_page(charts, left_out, label))
    print(f"wrote {args.out} ({len(charts)} charts, {len(left_out)} left out)")


if __name__ == "__main__":
    main()
