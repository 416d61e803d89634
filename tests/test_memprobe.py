"""Fresh-process memory (``python -m pipeline.bench.memprobe``, as the benchmark runs it) on a small
checkpoint of every kind: real RSS figures, with the runtime's own memory left out."""

from pathlib import Path

import pytest
import torch

from pipeline.bench.benchmark import peak_rss
from pipeline.config import ArchConfig
from pipeline.inference.packed import export_packed
from pipeline.model.checkpoint import save_model
from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, TransformerLM, state_bytes

# Large enough that the weights (about 21 MB in fp32; the packed model's stacked codes, which it
# copies at load, about 0.6 MB) stand well above page-level noise.
ARCH = ArchConfig.from_name("tiny", dim=256, n_heads=4, n_layers=4, dropout=0.0)
VOCAB = 4096
MB = 1e6


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """kind -> the file that kind loads: the FP32 twin (fp32, int8) and packed files (bf16 and fp32 head)."""
    directory = tmp_path_factory.mktemp("memprobe")
    torch.manual_seed(0)
    save_model(directory / "fp32.safetensors", TransformerLM(ARCH, VOCAB, FP32_TWIN), {})
    ternary = TransformerLM(ARCH, VOCAB, PAPER_TERNARY)
    export_packed(ternary, directory / "packed.safetensors", "2bit", "bf16")
    export_packed(ternary, directory / "packed_fp32.safetensors", "2bit", "fp32")
    return {"fp32": directory / "fp32.safetensors", "int8": directory / "fp32.safetensors",
            "packed": directory / "packed.safetensors", "packed_pytorch": directory / "packed_fp32.safetensors"}


@pytest.mark.parametrize("kind", ["fp32", "int8", "packed", "packed_pytorch"])
def test_the_probe_reports_resident_and_peak_memory_above_the_runtime(checkpoints, kind):
    memory = peak_rss(kind, checkpoints[kind], ARCH.seq_len, threads=1)
    assert set(memory) == {"runtime_mb", "resident_mb", "peak_mb"}
    assert memory["runtime_mb"] > 50  # the interpreter and torch, at least
    assert 0 < memory["resident_mb"] <= memory["peak_mb"]


def test_the_fp32_models_resident_memory_is_its_weights(checkpoints):
    weights_mb = state_bytes(TransformerLM(ARCH, VOCAB, FP32_TWIN)) / MB
    memory = peak_rss("fp32", checkpoints["fp32"], ARCH.seq_len, threads=1)
    assert 0.8 * weights_mb < memory["resident_mb"] < 1.3 * weights_mb
