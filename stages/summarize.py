"""DVC stage `summarize`: metrics/summary.json (mean +/- sample std over seeds) and reports/claims.json."""

from pathlib import Path

from pipeline.io import atomic_path, write_json
from pipeline.summarize import glue_table, loss_curves_table, summarize
from stages.common import main


def run(cfg, args) -> None:
    summary, claims = summarize(cfg, Path("."), Path("metrics/tokens.json"), Path("metrics/benchmark.json"),
                                Path("metrics/sparsity.json"))
    write_json("metrics/summary.json", summary)
    write_json("reports/claims.json", claims)
    for name, table in (("loss_curves", loss_curves_table(cfg, Path("."))), ("glue", glue_table(cfg, summary))):
        with atomic_path(f"metrics/plots/{name}.csv") as tmp:
            table.to_csv(tmp, index=False, float_format="%.6f")


if __name__ == "__main__":
    main(__doc__, run)
