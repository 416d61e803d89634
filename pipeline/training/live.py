"""Training logs in DVCLive's file layout, so ``dvc plots`` and ``dvc exp show`` read them.

DVCLive itself is used whenever it is installed (requirements.txt installs it). Machines that run a
stage's entry point without DVC (a rented GPU box) get :class:`PlainLive`, which writes the same
files (``plots/metrics/<name>.tsv`` with ``step`` and value columns, ``metrics.json``), so the
results can be brought back and read by the same pipeline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Protocol

from pipeline.io import write_text


class CurveLogger(Protocol):
    """What the training loop uses of ``dvclive.Live`` (and :class:`PlainLive` provides)."""

    step: int
    summary: dict[str, Any]

    def log_metric(self, name: str, value: float) -> None: ...

    def make_summary(self) -> None: ...

    def end(self) -> None: ...


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


def open_live(directory: Path, resume: bool) -> CurveLogger:
    """A DVCLive logger (or :class:`PlainLive` where DVC is not installed) writing to ``directory``."""
    try:
        from dvclive import Live
    except ImportError:
        return PlainLive(dir=str(directory), resume=resume)
    # dvcyaml=False: the stage's outputs are declared in dvc.yaml, not appended by DVCLive;
    # save_dvc_exp=False: `dvc exp run` owns experiments.
    return Live(dir=str(directory), resume=resume, save_dvc_exp=False, dvcyaml=False, report=None)


def read_curves(directory: Path) -> dict[str, str]:
    """Every file the logger wrote under ``directory``, by relative path: the curves as of now, small
    enough (a few KB) to travel inside a resume file, so that weights and curves are saved in one
    atomic write and a kill can never leave them out of step."""
    if not directory.is_dir():
        return {}
    return {str(path.relative_to(directory)): path.read_text(encoding="utf-8")
            for path in sorted(directory.rglob("*")) if path.is_file()}


def _rows_up_to(text: str, last_step: int) -> str:
    """A DVCLive series (TSV with a ``step`` column) without the rows logged after ``last_step``."""
    header, *rows = text.splitlines()
    step = header.split("\t").index("step")
    return "\n".join([header] + [row for row in rows if int(row.split("\t")[step]) <= last_step]) + "\n"


def restore_curves(directory: Path, curves: dict[str, str], last_step: int) -> None:
    """Put back the curves a resume file carries (:func:`read_curves`), replacing whatever a killed run
    or DVC's clean-up of the stage's outputs left in ``directory``; rows after ``last_step`` are
    dropped, since the resumed run logs them again."""
    shutil.rmtree(directory, ignore_errors=True)
    for name, text in curves.items():
        write_text(directory / name, _rows_up_to(text, last_step) if name.endswith(".tsv") else text)
