"""DVC stage `report`: execute notebooks/report.ipynb into reports/report.ipynb and reports/report.html."""

from pathlib import Path

from pipeline.layout import Outputs
from pipeline.analysis.report.render import render_report
from stages.common import main


def run(cfg, args) -> None:
    outputs = Outputs()
    render_report(Path("notebooks/report.ipynb"), *outputs.report,
                  {"params_path": args.params, "figures_dir": str(outputs.figures)}, cwd=Path("."))


if __name__ == "__main__":
    main(__doc__, run)
