"""Training on CPU: deterministic, resumable, loud on a non-finite loss (tiny model, ~seconds)."""

import os
import shutil
from pathlib import Path

import pytest

import pipeline.io as pipeline_io

from pipeline.config import parse_config
from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.data.tokenize import tokenize_corpus
from pipeline.layout import RunPaths
from pipeline.training.train import NonFiniteLossError, train_language_model
from tests.conftest import tiny_raw_params


@pytest.fixture(scope="module")
def tokens_dir(tmp_path_factory) -> Path:
    cfg = parse_config(tiny_raw_params())
    root = tmp_path_factory.mktemp("data")
    write_corpus(load_corpus(cfg.data, cfg.glue.tasks), root / "prepared")
    tokenize_corpus(cfg.tokenizer, root / "prepared", root / "tokens")
    return root / "tokens"


def _train(cfg, tokens_dir, root, role="studied", **kwargs):
    return train_language_model(cfg, role, 0, tokens_dir, RunPaths.for_run(role, 0, root), **kwargs)


def test_same_seed_same_metrics(tiny_config, tokens_dir, tmp_path):
    first = _train(tiny_config, tokens_dir, tmp_path / "a")
    second = _train(tiny_config, tokens_dir, tmp_path / "b")
    assert first == second
    # Pinned (torchtune-style): the tiny config's losses after 12 steps on the synthetic corpus. A
    # change to the model, the data order, dropout or the optimizer moves these; update them only
    # for a change that is meant to alter training, and say so in the commit.
    assert first["val_loss"] == pytest.approx(5.480177, rel=1e-5)
    assert first["train_loss"] == pytest.approx(5.480839, rel=1e-5)
    baseline = _train(tiny_config, tokens_dir, tmp_path / "c", role="baseline")
    assert baseline["val_loss"] == pytest.approx(5.463373, rel=1e-5)
    assert (tmp_path / "a" / "models" / "studied" / "seed_0" / "model.safetensors").is_file()


def test_interrupted_run_resumes_to_identical_metrics(tiny_config, tokens_dir, tmp_path):
    uninterrupted = _train(tiny_config, tokens_dir, tmp_path / "full")

    def interrupt(step: int) -> None:
        if step == 7:  # after the checkpoint at step 4, before the one at 8
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tokens_dir, tmp_path / "resumed", on_step=interrupt)
    paths = RunPaths.for_run("studied", 0, tmp_path / "resumed")
    assert paths.resume.is_file() and not paths.metrics.exists()
    resumed = _train(tiny_config, tokens_dir, tmp_path / "resumed")
    assert resumed == uninterrupted
    assert not paths.resume.exists()
    header, *rows = (paths.live_dir / "plots" / "metrics" / "train" / "loss.tsv").read_text().splitlines()
    steps = [int(row.split("\t")[header.split("\t").index("step")]) for row in rows]
    assert steps == sorted(set(steps)) == list(range(2, 13, 2))


def test_non_finite_loss_stops_with_step_and_hint(tokens_dir, tmp_path):
    cfg = parse_config(tiny_raw_params(train={"optimizer": {"lr": 1e30, "betas": [0.9, 0.98], "weight_decay": 0.0},
                                              "grad_clip": 1e30}))
    with pytest.raises(NonFiniteLossError, match=r"at step \d+.*train\.optimizer\.lr"):
        _train(cfg, tokens_dir, tmp_path)


def test_corrupt_resume_file_is_set_aside_and_the_run_starts_over(tiny_config, tokens_dir, tmp_path, capsys):
    uninterrupted = _train(tiny_config, tokens_dir, tmp_path / "full")

    def interrupt(step: int) -> None:
        if step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tokens_dir, tmp_path / "run", on_step=interrupt)
    paths = RunPaths.for_run("studied", 0, tmp_path / "run")
    data = paths.resume.read_bytes()
    paths.resume.write_bytes(data[:len(data) // 2])  # a crash mid-write of a non-atomic copy, say
    assert _train(tiny_config, tokens_dir, tmp_path / "run") == uninterrupted
    assert "unreadable" in capsys.readouterr().err
    assert paths.resume.with_name("resume.safetensors.corrupt").is_file() and not paths.resume.exists()


def test_resume_file_of_other_params_does_not_block_a_run(tiny_config, tokens_dir, tmp_path):
    def interrupt(step: int) -> None:
        if step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tokens_dir, tmp_path, on_step=interrupt)
    other = parse_config(tiny_raw_params(train={"optimizer": {"lr": 0.001, "betas": [0.9, 0.98], "weight_decay": 0.01}}))
    assert _train(other, tokens_dir, tmp_path / "fresh") == _train(other, tokens_dir, tmp_path)


def _curves(paths: RunPaths) -> dict[str, str]:
    """The run's DVCLive series (TSV files), by relative path."""
    return {str(p.relative_to(paths.live_dir)): p.read_text() for p in sorted(paths.live_dir.rglob("*.tsv"))}


def _as_dvc_would_rerun(paths: RunPaths) -> None:
    """DVC deletes a stage's outputs before running it again: the model and every cache: false file."""
    shutil.rmtree(paths.live_dir, ignore_errors=True)
    for path in (paths.model, paths.metrics, paths.timing):
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def uninterrupted(tokens_dir, tmp_path_factory):
    cfg = parse_config(tiny_raw_params())
    root = tmp_path_factory.mktemp("full")
    metrics = _train(cfg, tokens_dir, root)
    paths = RunPaths.for_run("studied", 0, root)
    return metrics, _curves(paths), paths.model.read_bytes(), paths


@pytest.mark.parametrize("kill_at", [1, 3, 4, 5, 8, 12])  # around both checkpoints (4, 8) and the end
def test_a_kill_after_any_step_leaves_the_uninterrupted_curves_and_weights(tiny_config, tokens_dir, tmp_path,
                                                                           uninterrupted, kill_at):
    def kill(step: int) -> None:
        if step == kill_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train(tiny_config, tokens_dir, tmp_path, on_step=kill)
    paths = RunPaths.for_run("studied", 0, tmp_path)
    _as_dvc_would_rerun(paths)
    assert _train(tiny_config, tokens_dir, tmp_path) == uninterrupted[0]
    assert _curves(paths) == uninterrupted[1]
    assert paths.model.read_bytes() == uninterrupted[2]


def _count_replaces(monkeypatch, kill_at: int | None) -> list[int]:
    """Make the ``kill_at``-th atomic rename of a pipeline output raise (a kill at that instant)."""
    calls, real = [0], os.replace

    def replace(src, dst):
        calls[0] += 1
        if calls[0] == kill_at:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(pipeline_io.os, "replace", replace)
    return calls


def test_a_kill_at_any_atomic_write_leaves_the_uninterrupted_curves_and_weights(tiny_config, tokens_dir, tmp_path,
                                                                                uninterrupted, monkeypatch):
    calls = _count_replaces(monkeypatch, None)
    _train(tiny_config, tokens_dir, tmp_path / "count")
    writes = calls[0]
    assert writes >= 5  # resume files, the model, metrics, timing
    for kill_at in range(1, writes + 1):
        root = tmp_path / f"kill_{kill_at}"
        _count_replaces(monkeypatch, kill_at)
        with pytest.raises(KeyboardInterrupt):
            _train(tiny_config, tokens_dir, root)
        monkeypatch.setattr(pipeline_io.os, "replace", os.replace)
        paths = RunPaths.for_run("studied", 0, root)
        _as_dvc_would_rerun(paths)
        assert _train(tiny_config, tokens_dir, root) == uninterrupted[0], kill_at
        assert _curves(paths) == uninterrupted[1], kill_at
        assert paths.model.read_bytes() == uninterrupted[2], kill_at


def test_the_zero_fraction_is_logged_every_epoch(uninterrupted):
    curves = uninterrupted[1]
    header, *rows = curves["plots/metrics/eval/zero_pct.tsv"].splitlines()
    assert header == "step\tzero_pct" and len(rows) == len(curves["plots/metrics/eval/val_loss.tsv"].splitlines()) - 1
    assert all(20.0 < float(row.split("\t")[1]) < 45.0 for row in rows)  # near the Gaussian 31% after 12 steps
    for part in ("middle", "boundary"):  # the depth profile per epoch, over the sparsity.middle_band layers
        header, *part_rows = curves[f"plots/metrics/eval/zero_pct_{part}.tsv"].splitlines()
        assert header == f"step\tzero_pct_{part}" and len(part_rows) == len(rows)


def test_the_finished_run_writes_the_layer_statistics_of_its_checkpoint(uninterrupted):
    """layers.csv is what the sparsity stage reads instead of the checkpoint: it must be the checkpoint's."""
    import pandas as pd

    from pipeline.model.checkpoint import load_model
    from pipeline.model.stats import layer_statistics

    paths = uninterrupted[3]
    written = pd.read_csv(paths.layers)
    pd.testing.assert_frame_equal(written, layer_statistics(load_model(paths.model)[0]), check_exact=True)


def test_the_constant_schedule_holds_the_peak_after_warm_up():
    import torch

    from pipeline.training.optim import make_scheduler

    cfg = parse_config(tiny_raw_params(train={"schedule": "constant", "warmup_fraction": None, "warmup_steps": 3}))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = make_scheduler(optimizer, cfg.train, total_steps=10)
    rates = []
    for _ in range(10):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.5 / 3, 1.0 / 3, 0.5] + [0.5] * 7)


def test_the_baseline_trains_with_its_own_recipe_where_it_has_one():
    cfg = parse_config(tiny_raw_params(
        train={"baseline": {"schedule": "constant", "label_smoothing": 0.0, "warmup_steps": 5}},
        model={"baseline": {"init_std": 0.02, "attention": "bidirectional", "positions": "learned", "dropout": 0.1}}))
    studied, baseline = cfg.train.for_role("studied"), cfg.train.for_role("baseline")
    assert studied is cfg.train
    assert (baseline.schedule, baseline.label_smoothing, baseline.warmup_steps, baseline.warmup_fraction) == \
        ("constant", 0.0, 5, None)
    assert baseline.optimizer == studied.optimizer and baseline.epochs == studied.epochs
    assert cfg.model.arch_for("baseline").dropout == 0.1 and cfg.model.arch_for("studied") == cfg.model.arch


def test_max_stories_trains_on_the_first_stories_of_the_split(tokens_dir):
    from pipeline.errors import InputError
    from pipeline.data.tokens import load_tokens
    from pipeline.training.train import load_sequences

    starts = load_tokens(tokens_dir / "train_starts.npy")
    cfg = parse_config(tiny_raw_params(train={"max_stories": 10}))
    windows = load_sequences(tokens_dir, "train", cfg.train, 32)
    assert len(windows.tokens) == starts[10] and len(windows) == (int(starts[10]) - 1) // 32
    assert len(load_sequences(tokens_dir, "val", cfg.train, 32).tokens) == len(load_tokens(tokens_dir / "val.npy"))
    too_many = parse_config(tiny_raw_params(train={"max_stories": len(starts)}))
    with pytest.raises(InputError, match="train.max_stories"):
        load_sequences(tokens_dir, "train", too_many.train, 32)


def test_a_maskless_model_is_probed_with_the_causal_mask_and_every_run_reports_its_code_change(tokens_dir, tmp_path):
    cfg = parse_config(tiny_raw_params(model={"baseline": {"init_std": 0.02, "attention": "bidirectional",
                                                           "positions": "learned", "dropout": None}}))
    maskless = _train(cfg, tokens_dir, tmp_path / "m", role="baseline")
    assert maskless["leak_nats"] == pytest.approx(maskless["val_loss_causal_probe"] - maskless["val_loss"])
    assert maskless["val_loss_causal_probe"] != maskless["val_loss"]
    causal = _train(cfg, tokens_dir, tmp_path / "c", role="studied")
    assert "leak_nats" not in causal  # nothing to probe in a causal model
    assert 0.0 < causal["code_change_fraction"] < 0.3 and 20.0 < causal["zero_pct"] < 45.0
