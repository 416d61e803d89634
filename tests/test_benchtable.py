"""pipeline/bench/table.py and the load/round helpers of pipeline/bench/peer.py."""

import pytest

from pipeline.bench.table import UNITS, BenchTable, metric_key, select
from pipeline.bench.peer import cpu_busy_fraction, interleaved_rounds, machine_load


def test_flat_names_and_the_tidy_table_hold_the_same_values():
    table = BenchTable()
    table.add("paper_arch", "fp32", "weights_mb", 528.0)
    table.add("paper_arch", "ternary_packed", "weights_mb", 115.2)
    table.add("paper_arch", "ternary_packed", "weight_reduction", 528.0 / 115.2)
    assert table.flat()["paper_arch_ternary_packed_weights_mb"] == 115.2
    assert metric_key("paper_arch", "fp32", "weights_mb") == "paper_arch_fp32_weights_mb"
    frame = table.frame()
    assert list(frame.columns) == ["scope", "format", "metric", "value", "unit"]
    assert set(frame["unit"]) == {"MB", "x"}
    assert select(frame, "paper_arch", "weights_mb").to_dict() == {"fp32": 528.0, "ternary_packed": 115.2}
    assert table.get("paper_arch", "fp32", "weights_mb") == 528.0 and not table.has("trained", "fp32", "weights_mb")


def test_an_unknown_metric_name_is_refused():
    with pytest.raises(KeyError, match="unknown benchmark metric 'weights'"):
        BenchTable().add("trained", "fp32", "weights", 1.0)
    assert all(unit for unit in UNITS.values())


def test_rounds_run_every_format_once_per_round_in_shuffled_orders():
    calls = []

    def decoder(name):
        def decode(prompt, n_tokens):
            calls.append(name)
            return [0] * n_tokens, 0.001 * n_tokens
        return decode

    times = interleaved_rounds({name: decoder(name) for name in "abcd"}, [1, 2], 8, rounds=5)
    assert {name: len(values) for name, values in times.items()} == {name: 5 for name in "abcd"}
    assert times["a"] == [pytest.approx(1.0)] * 5  # ms per token
    timed = calls[4:]  # after one warm-up call each
    orders = {tuple(timed[i:i + 4]) for i in range(0, 20, 4)}
    assert all(sorted(order) == list("abcd") for order in orders) and len(orders) > 1


def test_machine_load_flags_a_busy_machine():
    assert machine_load(0.02, 0.05)["machine_idle"] is True
    assert machine_load(0.02, 0.40)["machine_idle"] is False
    assert machine_load(None, None)["machine_idle"] is None
    busy = cpu_busy_fraction(0.05)
    assert busy is None or 0.0 <= busy <= 1.0
