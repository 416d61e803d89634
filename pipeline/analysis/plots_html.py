"""``dvc plots show`` / ``dvc plots diff`` as one self-contained HTML page that renders offline.

DVC's own HTML loads vega from a CDN, so without network it is a blank page. This asks DVC for the
plot specs (``--json``: Vega-Lite with the data inlined), renders each to SVG with ``vl-convert``
(which bundles Vega), and writes one HTML file with the SVGs inline: no script, no network.

    python -m pipeline.analysis.plots_html                      # this workspace -> reports/plots.html
    python -m pipeline.analysis.plots_html --diff HEAD~1        # workspace vs a revision, side by side
    python -m pipeline.analysis.plots_html --diff rev1 rev2 -o cmp.html
"""

from __future__ import annotations

import argparse
import html
import json
import subprocess
import sys
from pathlib import Path

from pipeline.io import write_text

DEFAULT_OUT = Path("reports/plots.html")


def dvc_plot_specs(revisions: list[str] | None) -> dict[str, list[dict]]:
    """Plot id -> DVC's rendered Vega-Lite specs (``dvc plots show`` or ``diff REVS`` with ``--json``)."""
    command = [sys.executable, "-m", "dvc", "plots"] + (["diff", *revisions] if revisions is not None else ["show"])
    done = subprocess.run(command + ["--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)["data"]


def render_page(specs: dict[str, list[dict]], title: str) -> str:
    """One HTML page: a heading and an inline SVG per plot (errors named in place of a plot)."""
    import vl_convert

    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for plot_id, renders in specs.items():
        parts.append(f"<h2>{html.escape(plot_id)}</h2>")
        for rendered in renders:
            content = rendered.get("content")
            if not isinstance(content, dict) or not content.get("data", {}).get("values"):
                parts.append("<p>(no data for this plot in these revisions)</p>")
                continue
            parts.append(vl_convert.vegalite_to_svg(content))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diff", nargs="*", metavar="REV", help="compare revisions (none: workspace vs HEAD)")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    specs = dvc_plot_specs(args.diff)
    label = "dvc plots diff " + " ".join(args.diff) if args.diff is not None else "dvc plots show"
    write_text(args.out, render_page(specs, label))
    print(f"wrote {args.out} ({len(specs)} plots)")


if __name__ == "__main__":
    main()
