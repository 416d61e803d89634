"""DVC stage `summarize`: metrics/summary.json (mean +/- sample std over seeds) and reports/claims.json."""

from pathlib import Path

from pipeline.io import write_json
from pipeline.summarize import summarize
from stages.common import main


def run(cfg, args) -> None:
    summary, claims = summarize(cfg, Path("."), Path("data/tokens"), Path("metrics/benchmark.json"),
                                Path("metrics/sparsity.json"))
    write_json("metrics/summary.json", summary)
    write_json("reports/claims.json", claims)


if __name__ == "__main__":
    main(__doc__, run)
