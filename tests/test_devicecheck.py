"""pipeline/bench/devicecheck: the GPU check runs end to end on a CPU (``--preset tiny``), writes every
section into its one JSON file, records a failing section while the others still run, and prepares
the real tokens from ../shared/data."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from pipeline.bench.devicecheck import sections
from pipeline.bench.devicecheck.__main__ import TIME_LIMITS_S, TOTAL_S, main
from pipeline.bench.devicecheck.device import Device, Skipped
from pipeline.bench.devicecheck.presets import PRESETS, check_config
from pipeline.bench.devicecheck.record import TimeLimitExceeded, hard_time_limit, section_status
from pipeline.config import ARCH_PRESETS
from pipeline.inference.kernels import load_kernel
from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, TransformerLM, count_parameters
from pipeline.paper import PAPER_PARAMETERS, PAPER_VOCAB_SIZE
from tests.conftest import PROJECT_ROOT, SHARED_DATA

TINY = ["--preset", "tiny", "--device", "cpu", "--threads", "1"]


@pytest.fixture(autouse=True)
def no_kernel_build(monkeypatch):
    """The packed model's pure-PyTorch path: building the C++ kernel can take a minute (its own
    tests cover it), and on a GPU the check uses the pure-PyTorch path anyway."""
    monkeypatch.setenv("TERNARYLM_DISABLE_KERNEL", "1")
    load_kernel.cache_clear()
    yield
    load_kernel.cache_clear()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The check's folder after ``prepare`` on the real data, and prepare's counts."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    folder = tmp_path_factory.mktemp("devicecheck")
    return folder, main(["prepare", "--dir", str(folder), "--data", str(SHARED_DATA)])


def test_prepare_writes_bert_tokens_of_the_local_stories(prepared):
    folder, counts = prepared
    assert counts["tokenizer"] == "bert_vocab_file" and counts["vocab_size"] == PAPER_VOCAB_SIZE == 30522
    # ../shared/data/README.md: 2,316 complete training stories (the cut-off fragment dropped), 1,000 validation
    assert (counts["train_stories"], counts["val_stories"]) == (2316, 1000)
    assert counts["train_unknown_fraction"] < 0.001
    train = np.load(folder / "tokens" / "train.npy")
    starts = np.load(folder / "tokens" / "train_starts.npy")
    assert len(train) == counts["train_tokens"] and len(starts) == 2317
    # the profile's stream: every story as [CLS] story [SEP] (bert-base-uncased ids 101 and 102)
    assert (train[starts[:-1]] == 101).all() and (train[starts[1:] - 1] == 102).all()


def test_the_tiny_run_writes_every_section(prepared, tmp_path):
    folder, _ = prepared
    out = tmp_path / "check.json"
    done = subprocess.run([sys.executable, "-m", "pipeline.bench.devicecheck", *TINY, "--dir", str(folder),
                           "--out", str(out)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)  # about 10 s on a 2-core machine
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["complete"] and record["command"].startswith("python -m pipeline.bench.devicecheck --preset tiny")
    assert record["environment"]["device"] == "cpu" and record["environment"]["torch"] == torch.__version__
    assert record["environment"]["peak_bf16_flops"] is None  # not guessed for a CPU
    assert set(record["sections"]) == set(TIME_LIMITS_S)
    for name, section in record["sections"].items():
        assert section["status"] == ("skipped" if name == "throughput_compiled" else "ok"), (name, section)
        assert section["limit_s"] == TIME_LIMITS_S[name]
    results = {name: section["results"] for name, section in record["sections"].items()}

    tiny_params = count_parameters(TransformerLM(ARCH_PRESETS["tiny"], PAPER_VOCAB_SIZE))
    for label in ("ternary", "fp32"):
        measured = results["throughput"][label]
        assert measured["tokens_per_s"] > 0 and measured["precision"] == "fp32" and not measured["compiled"]
        assert measured["params"] == tiny_params and measured["mfu"] is None and measured["peak_mb"] is None
        assert results["throughput_compiled"][label]["reason"] == "torch.compile runs on CUDA only in this check"

    trained = results["train"]["ternary"]
    assert trained["steps"] == PRESETS["tiny"].train_steps and not trained["stopped_by_time_limit"]
    assert trained["val_loss_start"] == pytest.approx(math.log(PAPER_VOCAB_SIZE), abs=0.05)  # an untrained model
    assert math.isfinite(trained["val_loss_end"]) and trained["curve"][-1][0] == trained["steps"]

    for fmt in sections.FORMATS:
        assert results["decode"][fmt]["ms_per_token"] > 0 and results["decode"][fmt]["decode_tokens"] == 4
        memory = results["memory"][fmt]
        assert memory["peak_mb"] is None and memory["method"].startswith("not measured on the CPU")
    assert "pure PyTorch" in results["decode"]["ternary_packed"]["computes"]
    weights = {fmt: results["memory"][fmt]["weights_mb"] for fmt in sections.FORMATS}
    assert weights["ternary_fakequant"] == weights["fp32"] > weights["ternary_packed"]  # only packing saves memory


def test_failing_sections_are_recorded_and_the_others_still_run(tmp_path, monkeypatch):
    def broken(model):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(sections, "state_bytes", broken)  # every memory item fails
    out = tmp_path / "check.json"
    # an empty folder: nothing prepared, so the training's setup fails; decode gets no time at all
    record = main([*TINY, "--dir", str(tmp_path / "empty"), "--out", str(out), "--decode-s", "0",
                   "--sections", "throughput", "train", "decode", "memory"]).data
    assert record == json.loads(out.read_text())
    status = {name: section["status"] for name, section in record["sections"].items()}
    assert status == {"throughput": "ok", "train": "failed", "decode": "failed", "memory": "failed",
                      "throughput_compiled": "skipped"}
    train = record["sections"]["train"]["failure"]
    assert train["type"] == "MissingInputError" and "python -m pipeline.bench.devicecheck prepare" in train["message"]
    decode = record["sections"]["decode"]["failure"]
    assert decode["type"] == "TimeLimitExceeded" and decode["message"] == "decode (time limit 0 s): no time left"
    for fmt in sections.FORMATS:
        item = record["sections"]["memory"]["results"][fmt]
        assert item["failure"]["type"] == "RuntimeError" and item["failure"]["message"] == "injected failure"
        assert "RuntimeError: injected failure" in item["failure"]["traceback_tail"][-1]
        assert item["computes"]  # what it had recorded before failing is kept
    assert record["sections"]["throughput_compiled"]["reason"] == "not selected (--sections)"


def test_the_hard_time_limit_interrupts_a_long_call():
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match="a nap: stopped at its hard time limit"):
        with hard_time_limit(0.2, "a nap"):
            time.sleep(10)
    assert time.perf_counter() - started < 2
    with pytest.raises(TimeLimitExceeded, match="no time left"):
        with hard_time_limit(0):
            pass


def test_an_inner_time_limit_keeps_the_outer_deadline():
    started = time.perf_counter()
    with pytest.raises(TimeLimitExceeded, match="outer"):
        with hard_time_limit(0.5, "outer"):
            with hard_time_limit(5, "inner"):
                time.sleep(0.1)
            time.sleep(10)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("items, expected", [
    ({"a": "ok", "b": "ok"}, "ok"), ({"a": "ok", "b": "failed"}, "partial"), ({"a": "failed"}, "failed"),
    ({"a": "skipped", "b": "skipped"}, "skipped"), ({"a": "ok", "b": "skipped"}, "ok"),
])
def test_a_section_status_summarises_its_items(items, expected):
    assert section_status({name: {"status": status} for name, status in items.items()}) == expected


def test_the_time_limits_fit_in_five_minutes():
    assert list(TIME_LIMITS_S) == ["throughput", "train", "decode", "memory", "throughput_compiled"]
    assert set(TIME_LIMITS_S) == set(sections.SECTIONS)
    assert sum(TIME_LIMITS_S.values()) <= TOTAL_S < 300


def test_the_paper_preset_is_the_132m_model_and_its_fp32_twin():
    cfg = check_config(PRESETS["paper"])
    assert cfg.model.arch == ARCH_PRESETS["paper"]
    assert cfg.model.for_role("studied") == PAPER_TERNARY and cfg.model.for_role("baseline") == FP32_TWIN
    assert (cfg.train.batch_size, cfg.train.optimizer.lr, cfg.train.schedule) == (32, 3e-4, "onecycle")
    with torch.device("meta"):
        model = TransformerLM(cfg.model.arch_for("studied"), PAPER_VOCAB_SIZE, cfg.model.for_role("studied"))
    assert count_parameters(model) == PAPER_PARAMETERS


def test_the_cpu_takes_no_cuda_branch():
    device = Device("cpu")
    assert device.memory_mb() == (None, None) and device.peak_bf16_flops() is None and device.packed_kernel
    with device.autocast():  # off: the CPU steps run in fp32
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    with pytest.raises(Skipped):
        device.compile(torch.nn.Linear(2, 2))


def test_help_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "pipeline.bench.devicecheck", "--help"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "usage:" in done.stdout and "--throughput-compiled-s" in done.stdout


def test_prepare_without_the_data_says_which_option_to_give(tmp_path):
    with pytest.raises(SystemExit, match="pass --data"):
        main(["prepare", "--data", str(tmp_path / "absent"), "--dir", str(tmp_path / "check")])
