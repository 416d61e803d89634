"""pipeline/analysis/compute.py: the timing files of a run summed, resumed runs' earlier steps estimated."""

import json
from pathlib import Path

import pytest

from pipeline.analysis.compute import compute_summary, main, stage_times


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_the_sum_counts_runs_and_stages_and_estimates_what_a_resume_did_not_time(tmp_path):
    _write(tmp_path / "runs/studied/seed_0/timing.json", {"train_seconds": 100.0, "tokens_per_second": 4096.0,
                                                          "resumed_from_step": 0})
    _write(tmp_path / "runs/arms/w64/seed_0/baseline/timing.json", {"train_seconds": 50.0, "tokens_per_second": 2048.0,
                                                                    "resumed_from_step": 10})
    _write(tmp_path / "runs/arms/w64/seed_0/baseline/metrics.json", {"tokens_seen": 40960, "steps": 20})
    _write(tmp_path / "metrics/timing/tokenize.json", {"seconds": 7.0})
    _write(tmp_path / "runs/baseline/seed_0/timing.json", {"train_seconds": 3.0})  # an older file: no rate
    times = stage_times(tmp_path)
    assert [t.name for t in times] == ["runs/arms/w64/seed_0/baseline", "runs/baseline/seed_0", "runs/studied/seed_0",
                                       "tokenize"]
    summary = compute_summary(times)
    assert summary["seconds"] == 160.0 and summary["training_seconds"] == 153.0 and summary["timing_files"] == 4
    assert summary["training_runs"] == 3
    assert summary["resumed_seconds_estimate"] == pytest.approx(10 * 2048 / 2048.0)  # 10 steps of 2,048 tokens
    assert (summary["tokens_per_second_min"], summary["tokens_per_second_max"]) == (2048.0, 4096.0)


def test_a_folder_without_timing_files_is_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit, match=r"^error: no timing files under .*: expected runs/\*\*/timing.json"):
        main([str(tmp_path)])
