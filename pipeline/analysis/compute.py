"""What a run or an archived study cost in wall clock, from its timing files:
``python -m pipeline.analysis.compute results/regime-map [--out FILE]``.

A study that spans sittings has no single ``time dvc repro``; what it has is the timing file each
stage wrote: ``runs/**/timing.json`` (a training run's ``train_seconds``: its optimizer steps and
epoch evaluations) and ``metrics/timing/<stage>.json`` (every other stage that records its
``seconds``). Their sum is the study's compute as far as it was timed: it leaves out each run's final
evaluation and save (after ``train_seconds`` stops) and the stages that record no time (validate,
sparsity where absent, summarize, report), seconds to a minute each. A run resumed from a checkpoint
measured only the steps after the resume; its earlier steps are estimated at the run's own rate and
shown apart. The training rate of each run (tokens/s) is listed too, so runs slowed by other work on
the cores are visible.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.errors import MissingInputError, one_line_errors
from pipeline.io import print_json, read_json
from pipeline.layout import RUN_SECONDS_KEY, STAGE_SECONDS_KEY

RUN_TIMING = "timing.json"


@dataclass(frozen=True)
class StageTime:
    """One timing file: the run folder or stage it belongs to, its seconds, and for a training run its
    rate and the steps it resumed from (with the seconds those earlier steps are estimated to have cost)."""

    name: str
    seconds: float
    training: bool = False  # a training run's timing.json, not a stage's metrics/timing file
    tokens_per_second: float | None = None
    resumed_from_step: int = 0
    resumed_seconds_estimate: float = 0.0


def recorded_seconds(path: Path, key: str = STAGE_SECONDS_KEY) -> float:
    """The seconds a timing file records (``key``: ``STAGE_SECONDS_KEY`` for a stage's,
    ``RUN_SECONDS_KEY`` for a training run's); NaN where the file is absent (an arm run kept only in
    DVC's cache, a stage not yet run)."""
    return float(read_json(path)[key]) if path.is_file() else math.nan


def _run_time(path: Path, root: Path) -> StageTime:
    """A training run's timing.json (``runs/.../timing.json``), its metrics.json beside it for the
    tokens per optimizer step."""
    timing = read_json(path)
    rate, start = timing.get("tokens_per_second"), int(timing.get("resumed_from_step", 0))
    estimate = 0.0
    metrics = path.with_name("metrics.json")
    if start and rate and metrics.is_file():
        run = read_json(metrics)
        estimate = start * run["tokens_seen"] / run["steps"] / rate
    return StageTime(str(path.parent.relative_to(root)), float(timing[RUN_SECONDS_KEY]), True, rate, start, estimate)


def stage_times(root: Path) -> list[StageTime]:
    """Every timing file under ``root`` (a project or an archive): training runs, then other stages."""
    runs = sorted((root / "runs").rglob(RUN_TIMING)) if (root / "runs").is_dir() else []
    stages = sorted((root / "metrics" / "timing").glob("*.json")) if (root / "metrics" / "timing").is_dir() else []
    if not runs and not stages:
        raise MissingInputError(f"no timing files under {root}: expected runs/**/timing.json or metrics/timing/*.json")
    return ([_run_time(path, root) for path in runs]
            + [StageTime(path.stem, recorded_seconds(path)) for path in stages])


def compute_summary(times: list[StageTime]) -> dict:
    """The sums: all timing files, training runs alone, and the resumed runs' estimated earlier steps,
    with the slowest and fastest training rate."""
    training = [t for t in times if t.training]
    rates = [t.tokens_per_second for t in training if t.tokens_per_second is not None]
    return {"seconds": sum(t.seconds for t in times), "training_seconds": sum(t.seconds for t in training),
            "resumed_seconds_estimate": sum(t.resumed_seconds_estimate for t in times),
            "timing_files": len(times), "training_runs": len(training),
            "tokens_per_second_min": min(rates) if rates else None,
            "tokens_per_second_max": max(rates) if rates else None,
            "stages": [asdict(t) for t in times]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="The wall clock a run or archived study cost, summed from its "
                                                 "timing files.")
    parser.add_argument("root", type=Path, help="a project folder or an archive (results/NAME)")
    parser.add_argument("--out", type=Path, help="also write the result to this JSON file")
    args = parser.parse_args(argv)
    with one_line_errors():
        result = compute_summary(stage_times(args.root))
    print_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
