"""DVC stage `summarize`: metrics/summary.json (mean +/- sample std over seeds), metrics/arms.json
(the arms beside the main runs), the regime map (metrics/regime_map.csv), the plot tables (among them
the ternary zero percentages per epoch, metrics/plots/sparsity_curves.csv), and the claims table
reports/claims.json."""

from pathlib import Path

from pipeline.io import atomic_path, write_json
from pipeline.layout import Outputs
from pipeline.analysis.summarize import (epoch_curves_table, epoch_curves_wide, glue_table, loss_curves_table,
                                         regime_map, summarize, zero_curves_table)
from stages.common import main


def run(cfg, args) -> None:
    outputs = Outputs()
    summary, arms, claims = summarize(cfg, Path("."), outputs.tokens_dir, outputs.metrics("benchmark"),
                                      outputs.metrics("sparsity"))
    write_json(outputs.metrics("summary"), summary)
    write_json(outputs.metrics("arms"), arms)
    write_json(outputs.claims, claims)
    epochs = epoch_curves_table(cfg, Path("."))
    tables = {"loss_curves": loss_curves_table(cfg, Path(".")), "glue": glue_table(cfg, summary),
              "epoch_curves": epochs, "val_loss_by_epoch": epoch_curves_wide(cfg, epochs),
              "sparsity_curves": zero_curves_table(cfg, Path("."))}
    table, tables["regime_curves"] = regime_map(cfg, Path("."), epochs)
    with atomic_path(outputs.regime_map) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    for name, table in tables.items():
        with atomic_path(outputs.plot(name)) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6f")


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "summarize")
