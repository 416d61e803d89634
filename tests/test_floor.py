"""pipeline/bench/floor.py: the bytes a decode step reads and the read bandwidth that bounds it."""

from __future__ import annotations

import pytest
import torch

from pipeline.bench.floor import bytes_read_per_token, floor_ms, read_bandwidth
from pipeline.config import ArchConfig
from pipeline.inference.layers import EmbeddingInDtype
from pipeline.model.transformer import TransformerLM, state_bytes


def test_a_decode_step_reads_every_tensor_but_one_embedding_row():
    model = TransformerLM(ArchConfig.from_name("micro"), 100)
    row = model.arch.dim * 4  # fp32
    assert bytes_read_per_token(model) == state_bytes(model) - 100 * row + row


def test_an_embedding_in_another_dtype_is_found_through_its_wrapper():
    model = TransformerLM(ArchConfig.from_name("micro"), 100)
    model.embed = EmbeddingInDtype(torch.nn.Embedding(100, model.arch.dim, dtype=torch.bfloat16))
    row = model.arch.dim * 2  # bf16
    assert bytes_read_per_token(model) == state_bytes(model) - 100 * row + row


def test_the_floor_is_bytes_over_bandwidth():
    assert floor_ms(70_000_000, 43.0) == pytest.approx(70e6 / 43e9 * 1e3)  # the issue's ~1.6 ms


def test_the_read_bandwidth_is_measured_on_a_buffer_of_the_asked_size():
    result = read_bandwidth(4_000_000, threads=1, repeats=3)
    assert result["bytes"] == 4_000_000 and result["threads"] == 1
    # a plausibility band, not a timing assertion: any CPU this runs on reads faster than 0.1 GB/s
    assert result["gb_per_s_min"] <= result["gb_per_s"] <= result["gb_per_s_max"] and result["gb_per_s"] > 0.1
