"""The packages' order, enforced: a module imports only its own package or a lower one.

    root (config, errors, io, layout, paper, profiles, metrics)
      < data < model < training < inference < bench < analysis

Imports inside functions count, and so does launching a module as a subprocess
(``python -m pipeline.x`` written as the string ``"pipeline.x"``), so no round trip through a
subprocess can hide a cycle. ``stages/`` sits above everything and may import any package.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.test_dvc_deps import _imports, _module_file

ORDER = ("root", "data", "model", "training", "inference", "bench", "analysis")


def package(module: str) -> str:
    """``pipeline.model.quant`` -> ``model``; a module directly under ``pipeline/`` -> ``root``."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in ORDER:
        return parts[1]
    return "root"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((PROJECT_ROOT / "pipeline").rglob("*.py")):
        parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _resolved(module: str) -> str | None:
    """The pipeline module an import names (``from pipeline.model import quant`` names both the
    package and the module: the longest prefix that is a file wins)."""
    parts = module.split(".")
    for depth in range(len(parts), 1, -1):
        if _module_file(".".join(parts[:depth])) is not None:
            return ".".join(parts[:depth])
    return None


def edges() -> dict[str, set[str]]:
    """Every pipeline module and the pipeline modules it imports (or launches)."""
    graph = {}
    for module, path in _modules().items():
        targets = {_resolved(name) for name in _imports(path.read_text()) if name.startswith("pipeline.")}
        graph[module] = {t for t in targets if t and t != module and t in _modules()}
    return graph


def violations(graph: dict[str, set[str]]) -> list[str]:
    return [f"{source} ({package(source)}) imports {target} ({package(target)})"
            for source, targets in sorted(graph.items()) for target in sorted(targets)
            if ORDER.index(package(target)) > ORDER.index(package(source))]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules (a package's __init__ that imports nothing is no module here)."""
    found, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(trail[trail.index(target):] + [target] if target in trail else [node, target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_every_package_is_placed_in_the_order():
    packages = {path.parent.name for path in (PROJECT_ROOT / "pipeline").glob("*/__init__.py")}
    assert packages == set(ORDER) - {"root"}


def test_no_module_imports_a_higher_package():
    assert not violations(edges())


def test_no_import_cycle_even_through_a_subprocess():
    assert not cycles(edges())


@pytest.mark.parametrize("source, line, broken", [
    ("pipeline.model.quant", "from pipeline.analysis import claims", True),
    ("pipeline.data.tokens", "def f():\n    from pipeline.training.train import epoch_order\n", True),
    ("pipeline.config", "import subprocess\nsubprocess.run(['python', '-m', 'pipeline.bench.memprobe'])", True),
    ("pipeline.analysis.claims", "from pipeline.model.quant import EPS", False),
])
def test_the_check_fails_on_an_upward_import(source, line, broken):
    graph = edges()
    graph[source] = graph[source] | {_resolved(name) for name in _imports(line) if name.startswith("pipeline.")} - {None}
    assert bool(violations(graph)) == broken


def test_the_cycle_check_sees_a_subprocess_round_trip():
    graph = {"pipeline.bench.benchmark": {"pipeline.bench.memprobe"}, "pipeline.bench.memprobe": {"pipeline.bench.benchmark"}}
    assert cycles(graph)
