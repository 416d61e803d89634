"""Training logs in DVCLive's file layout, so ``dvc plots`` and ``dvc exp show`` read them.

DVCLive itself is used whenever it is installed (requirements.txt installs it). Machines that run a
stage's entry point without DVC (a rented GPU box) get :class:`PlainLive`, which writes the same
files (``plots/metrics/<name>.tsv`` with ``step`` and value columns, ``metrics.json``), so the
results can be brought back and read by the same pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.io import write_text


class PlainLive:
    """The subset of ``dvclive.Live`` the training loop uses, with the same on-disk layout."""

    def __init__(self, dir: str, resume: bool = False, **_: Any) -> None:
        self.dir = Path(dir)
        self.step = 0
        self.summary: dict[str, Any] = {}
        if not resume and self.dir.exists():
            for tsv in self.dir.glob("plots/metrics/**/*.tsv"):
                tsv.unlink()

    def log_metric(self, name: str, value: float) -> None:
        path = self.dir / "plots" / "metrics" / f"{name}.tsv"
        # rewritten whole and atomically: a kill never leaves half a row (the files are small)
        before = path.read_text(encoding="utf-8") if path.exists() else f"step\t{name.rsplit('/', 1)[-1]}\n"
        write_text(path, before + f"{self.step}\t{value}\n")
        # As DVCLive: a logged "a/b" nests as {"a": {"b": value}}; keys set on ``summary`` directly
        # stay as they are written.
        node = self.summary
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    def make_summary(self) -> None:
        self.summary["step"] = self.step
        write_text(self.dir / "metrics.json", json.dumps(self.summary, indent=4) + "\n")

    def end(self) -> None:
        self.make_summary()


def open_live(directory: Path, resume: bool):
    """A DVCLive logger (or :class:`PlainLive` where DVC is not installed) writing to ``directory``."""
    try:
        from dvclive import Live
    except ImportError:
        return PlainLive(dir=str(directory), resume=resume)
    # dvcyaml=False: the stage's outputs are declared in dvc.yaml, not appended by DVCLive;
    # save_dvc_exp=False: `dvc exp run` owns experiments.
    return Live(dir=str(directory), resume=resume, save_dvc_exp=False, dvcyaml=False, report=None)
