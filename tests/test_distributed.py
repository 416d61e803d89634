"""Data-parallel training under torchrun (gloo, 2 CPU processes) takes the same steps as one process
with the same global batch: the final losses agree to float-summation noise (tolerance 1e-4 relative;
dropout is off so both runs compute the same function)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from pipeline.config import parse_config
from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.data.tokenize import tokenize_corpus
from tests.conftest import PROJECT_ROOT, tiny_raw_params


def _train_in(directory: Path, processes: int) -> dict:
    raw = tiny_raw_params(model={"arch": {"dropout": 0.0}}, train={"processes": processes, "max_steps": 6})
    cfg = parse_config(raw)
    (directory / "params.yaml").write_text(yaml.safe_dump(raw))
    write_corpus(load_corpus(cfg.data, cfg.glue.tasks), directory / "data" / "prepared")
    tokenize_corpus(cfg.tokenizer, directory / "data" / "prepared", directory / "data" / "tokens")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "stages.train", "--role", "studied", "--seed", "0"], cwd=directory,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((directory / "runs" / "studied" / "seed_0" / "metrics.json").read_text())


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = _train_in(tmp_path / "one", processes=1)
    parallel = _train_in(tmp_path / "two", processes=2)
    for key in ("last_logged_train_loss_smoothed", "val_loss", "train_loss"):
        assert parallel[key] == pytest.approx(single[key], rel=1e-4), key
    assert parallel["steps"] == single["steps"] == 6


def test_one_process_is_the_whole_world(monkeypatch):
    from pipeline.training.distributed import DistContext

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = DistContext.from_env("cpu")
    assert ctx == DistContext() and ctx.is_main and not ctx.enabled
    values = torch.tensor([1.0, 3.0])
    assert ctx.mean(values) is values  # no copy, no collective
    assert ctx.shard(list(range(6))) == list(range(6))


def test_each_rank_takes_every_world_size_th_window():
    from pipeline.training.distributed import DistContext

    shards = [DistContext(rank=r, world_size=3).shard(list(range(8))) for r in range(3)]
    assert shards == [[0, 3, 6], [1, 4, 7], [2, 5]]
    assert sorted(sum(shards, [])) == list(range(8))


def test_asking_for_cuda_without_one_is_an_error_not_a_fallback():
    from pipeline.errors import InputError
    from pipeline.training.distributed import device_name, resolve_device

    assert resolve_device("cpu") == "cpu"
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible")
    assert resolve_device("auto") == "cpu"
    with pytest.raises(InputError, match="train.device is cuda but no CUDA device"):
        resolve_device("cuda")
    assert device_name("cpu").startswith("cpu (")
