"""pipeline/training/live.py: the DVCLive fallback writes what DVCLive itself writes, for what training logs."""

from pathlib import Path

import pytest

from pipeline.training.live import PlainLive, open_live


def log_like_training(live, resumed: bool = False) -> None:
    """What pipeline/training/train.py does: per-step train curves, per-epoch eval curves, summaries."""
    for step in ((3, 4) if resumed else (1, 2)):
        live.step = step
        live.log_metric("train/loss", 5.0 - step / 4)
        live.log_metric("train/lr", 1e-3 * step)
        if step % 2 == 0:
            live.log_metric("eval/val_loss", 5.5 - step / 8)
        live.make_summary()
    live.summary["eval/val_ppl"] = 42.5
    live.end()


def files(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob("*"))
            if path.is_file() and (path.suffix == ".tsv" or path.name == "metrics.json")}


@pytest.mark.parametrize("resume", [False, True])
def test_plain_live_writes_dvclive_s_files(tmp_path, resume):
    pytest.importorskip("dvclive")
    ours_dir, theirs_dir = tmp_path / "plain", tmp_path / "dvclive"
    for directory, make in ((ours_dir, lambda d, r: PlainLive(dir=str(d), resume=r)), (theirs_dir, open_live)):
        log_like_training(make(directory, False))
        if resume:  # a resumed run appends to the curves it finds
            log_like_training(make(directory, True), resumed=True)
    ours, theirs = files(ours_dir), files(theirs_dir)
    assert set(ours) == set(theirs) and "plots/metrics/train/loss.tsv" in ours
    for name in theirs:
        if name.endswith(".tsv"):  # DVCLive adds a timestamp column; the rows and values must agree
            theirs_rows = [line.split("\t") for line in theirs[name].splitlines()]
            keep = [i for i, col in enumerate(theirs_rows[0]) if col != "timestamp"]
            assert [[row[i] for i in keep] for row in theirs_rows] == \
                [line.split("\t") for line in ours[name].splitlines()], name
        else:
            assert ours[name] == theirs[name], name
