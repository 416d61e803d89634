"""pipeline/bench/floor.py: the bytes a decode step reads, the read bandwidth that bounds it, and the
benchmark's floor columns built from them."""

from __future__ import annotations

import platform

import pytest
import torch

from pipeline.bench import benchmark, floor
from pipeline.bench.floor import (ReadBandwidths, add_floor, bytes_read_per_token, floor_ms, gguf_bytes_read_per_token,
                                  read_bandwidth)
from pipeline.bench.peer import placeholder_vocabulary
from pipeline.bench.table import BenchTable
from pipeline.config import ArchConfig, RoleModel
from pipeline.inference.dense import int8_dynamic
from pipeline.inference.export import export_gguf
from pipeline.inference.kernels import DISABLE_ENV, load_kernel
from pipeline.inference.layers import EmbeddingInDtype, HeadInDtype
from pipeline.inference.packed import load_packed
from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, TransformerLM, state_bytes


def test_a_decode_step_reads_every_tensor_but_one_embedding_row():
    model = TransformerLM(ArchConfig.from_name("micro"), 100)
    row = model.arch.dim * 4  # fp32
    assert bytes_read_per_token(model) == state_bytes(model) - 100 * row + row


def test_an_embedding_in_another_dtype_is_found_through_its_wrapper():
    model = TransformerLM(ArchConfig.from_name("micro"), 100)
    model.embed = EmbeddingInDtype(torch.nn.Embedding(100, model.arch.dim, dtype=torch.bfloat16))
    row = model.arch.dim * 2  # bf16
    assert bytes_read_per_token(model) == state_bytes(model) - 100 * row + row


def test_a_kernel_bf16_head_counts_the_fp32_bias_it_reads_not_the_bf16_copy_beside_it():
    model = TransformerLM(ArchConfig.from_name("micro"), 100)
    row = model.arch.dim * 4
    model.head = HeadInDtype(model.head, torch.bfloat16, use_kernel=True)
    bf16_bias = 100 * 2  # resident, unread: the kernel adds bias32
    assert bytes_read_per_token(model) == state_bytes(model) - 100 * row + row - bf16_bias
    model.head = HeadInDtype(torch.nn.Linear(model.arch.dim, 100), torch.bfloat16, use_kernel=False)
    assert bytes_read_per_token(model) == state_bytes(model) - 100 * row + row  # torch's bf16 linear reads it


def test_the_floor_is_bytes_over_bandwidth():
    assert floor_ms(70_000_000, 43.0) == pytest.approx(70e6 / 43e9 * 1e3)  # the issue's ~1.6 ms


def test_the_read_bandwidth_is_measured_on_a_buffer_of_the_asked_size():
    result = read_bandwidth(4_000_000, threads=1, repeats=3)
    assert result["bytes"] == 4_000_000 and result["threads"] == 1
    # a plausibility band, not a timing assertion: any CPU this runs on reads faster than 0.1 GB/s
    assert result["gb_per_s_min"] <= result["gb_per_s"] <= result["gb_per_s_max"] and result["gb_per_s"] > 0.1


def test_learned_positions_are_read_one_row_per_token_too():
    model = TransformerLM(ArchConfig.from_name("micro"), 100, RoleModel.resolve("fp32", positions="learned"))
    row = model.arch.dim * 4  # fp32, both tables
    tables = (100 + model.arch.seq_len) * row
    assert bytes_read_per_token(model) == state_bytes(model) - tables + 2 * row


def test_a_gguf_file_counts_like_our_model_plus_the_zero_biases_qwen2_adds(tmp_path):
    twin = TransformerLM(ArchConfig.from_name("micro"), 100, FP32_TWIN)
    export_gguf(twin, placeholder_vocabulary(100), tmp_path / "twin.gguf", "f32", "f32")
    qkv_biases = twin.arch.n_layers * 3 * twin.arch.dim * 4  # f32 zeros llama.cpp's qwen2 graph requires
    assert gguf_bytes_read_per_token(tmp_path / "twin.gguf") == bytes_read_per_token(twin) + qkv_biases


def _fake_bandwidth(calls: list[int]):
    def measure(nbytes: int, threads: int, repeats: int = 5) -> dict[str, float]:
        calls.append(nbytes)
        return {"gb_per_s": 10.0, "gb_per_s_min": 8.0, "gb_per_s_max": 12.0, "bytes": nbytes, "threads": threads}
    return measure


def test_the_bandwidth_is_measured_once_per_working_set_size(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(floor, "read_bandwidth", _fake_bandwidth(calls))
    bandwidths = ReadBandwidths(threads=2, repeats=3)
    for size in (1000, 2000, 1000, 2000, 1000):
        bandwidths.at(size)
    assert calls == [1000, 2000]


def test_a_format_s_floor_is_its_bytes_over_the_bandwidth_at_its_size(monkeypatch):
    monkeypatch.setattr(floor, "read_bandwidth", _fake_bandwidth([]))
    table = BenchTable()
    table.add("peer", "ours_packed", "ms_per_token", 7.0)
    add_floor(table, "peer", "ours_packed", 35_000_000, ReadBandwidths(threads=2, repeats=3))
    assert table.get("peer", "ours_packed", "bytes_per_token") == 35_000_000
    assert table.get("peer", "ours_packed", "floor_ms") == pytest.approx(3.5)  # 35 MB at 10 GB/s
    assert table.get("peer", "ours_packed", "over_floor") == pytest.approx(2.0)
    assert (table.get("peer", "ours_packed", "read_gb_per_s_min"),
            table.get("peer", "ours_packed", "read_gb_per_s_max")) == (8.0, 12.0)


@pytest.fixture
def no_kernel(monkeypatch):
    """The pure-PyTorch path for one test: no kernel build inside a unit test. The loader's cache is
    cleared before and after, so the ``None`` it caches here never reaches a later test."""
    monkeypatch.setenv(DISABLE_ENV, "1")
    load_kernel.cache_clear()
    yield
    load_kernel.cache_clear()


def test_every_timed_format_of_a_scope_gets_its_own_floor(tmp_path, monkeypatch, tiny_config, no_kernel):
    """measure_scope on a micro pair: each format's bytes are those of the model it timed, read at
    a bandwidth measured in the run at that size (memory probe stubbed: it starts fresh processes)."""
    monkeypatch.setattr(benchmark, "peak_rss", lambda *args: {"resident_mb": 1.0, "peak_mb": 1.0})
    torch.manual_seed(0)
    arch = ArchConfig.from_name("micro")
    baseline, studied = TransformerLM(arch, 100, FP32_TWIN), TransformerLM(arch, 100, PAPER_TERNARY)
    cfg = tiny_config.benchmark.model_copy(update={"decode_tokens": 2, "prompt_tokens": 2, "repeats": 1})
    table, bandwidths = BenchTable(), ReadBandwidths(cfg.threads, cfg.repeats)
    benchmark.measure_scope("trained", baseline, studied, cfg, tmp_path, table, bandwidths)
    expected = {"fp32": baseline, "int8": int8_dynamic(baseline), "ternary_fakequant": studied,
                "ternary_packed": load_packed(tmp_path / "trained_2bit.safetensors")[0],
                "ternary_pytorch": load_packed(tmp_path / "trained_2bit_fp32head.safetensors", use_kernel=False)[0]}
    assert {fmt for scope, fmt, metric, _ in table.rows if metric == "ms_per_token"} == set(expected)
    for fmt, model in expected.items():
        nbytes = bytes_read_per_token(model)
        gb_per_s = bandwidths.by_size[nbytes]["gb_per_s"]
        assert table.get("trained", fmt, "bytes_per_token") == nbytes
        assert table.get("trained", fmt, "read_gb_per_s") == pytest.approx(gb_per_s)
        assert table.get("trained", fmt, "floor_ms") == pytest.approx(nbytes / (gb_per_s * 1e9) * 1e3)
        assert table.get("trained", fmt, "over_floor") == pytest.approx(
            table.get("trained", fmt, "ms_per_token") / table.get("trained", fmt, "floor_ms"))
    assert set(bandwidths.by_size) == {bytes_read_per_token(model) for model in expected.values()}
    assert len(table.frame().query("metric == 'over_floor'")) == len(expected)  # one floor per timed format


def test_the_cpu_model_comes_from_cpuinfo_else_from_platform(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n")
    assert benchmark.cpu_model(cpuinfo) == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert benchmark.cpu_model(tmp_path / "absent") == (platform.processor() or platform.machine())
