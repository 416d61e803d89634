"""DVC stage `report`: execute notebooks/report.ipynb into reports/report.ipynb and reports/report.html."""

from pathlib import Path

from pipeline.report import render_report
from stages.common import main


def run(cfg, args) -> None:
    render_report(Path("notebooks/report.ipynb"), Path("reports/report.ipynb"), Path("reports/report.html"),
                  {"params_path": args.params, "figures_dir": "reports/figures"}, cwd=Path("."))


if __name__ == "__main__":
    main(__doc__, run)
