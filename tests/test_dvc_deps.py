"""dvc.yaml declares exactly the code each stage runs: the import closure of ``stages/<name>.py``
(lazy imports and ``python -m pipeline.x`` subprocesses included; for the report, the notebook's
imports too). An undeclared file would leave stale results that `dvc repro` calls up to date; a
declared file the stage never uses re-runs it for nothing."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

CODE_ROOTS = ("pipeline", "stages")


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] not in CODE_ROOTS:
        return None
    base = PROJECT_ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (imported for annotations only,
    never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                yield child
                yield from _runtime_nodes(child)
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(source: str) -> set[str]:
    """Modules a source imports anywhere (top level or inside functions), and ``-m pipeline.x`` strings."""
    modules: set[str] = set()
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}  # from pipeline import figures
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"pipeline(\.\w+)+", node.value):
            modules.add(node.value)
    return modules


def _runs_code(path: Path) -> bool:
    """False for a package marker holding at most a docstring (pipeline/__init__.py and the like)."""
    body = ast.parse(path.read_text()).body
    return not all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def closure(start: list[str]) -> set[Path]:
    """Every pipeline/stages file reachable from the source texts' imports (parent packages included;
    package markers that run no code left out)."""
    todo, seen = list(start), set()
    found: set[Path] = set()
    while todo:
        for module in _imports(todo.pop()):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                path = _module_file(".".join(parts[:depth]))
                if path is not None and path not in seen:
                    seen.add(path)
                    todo.append(path.read_text())
                    if _runs_code(path):
                        found.add(path)
    return found


def _stage_code(name: str, spec: dict) -> list[str]:
    """The stage's entry point (as an import, so it counts itself) and, for the report, the notebook's code."""
    body = spec.get("do", spec)
    module = re.search(r"python -m (stages\.\w+)", body["cmd"]).group(1)
    sources = [f"import {module}"]
    if name == "report":
        notebook = json.loads((PROJECT_ROOT / "notebooks" / "report.ipynb").read_text())
        sources += ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    return sources


def _stages() -> dict[str, dict]:
    return yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]


def _declared(spec: dict) -> list[Path]:
    body = spec.get("do", spec)
    return [PROJECT_ROOT / dep for dep in body["deps"] if dep.split("/")[0] in CODE_ROOTS]


def _covered(path: Path, declared: list[Path]) -> bool:
    return any(path == dep or dep in path.parents for dep in declared)


def _kernel_sources(used: set[Path]) -> set[Path]:
    """What builds the C++ kernel is part of the code of every stage that imports its loader."""
    kernels = PROJECT_ROOT / "pipeline" / "inference" / "kernels"
    return set(kernels.glob("*.cpp")) if kernels / "__init__.py" in used else set()


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_declares_its_whole_import_closure(name):
    spec = _stages()[name]
    used = closure(_stage_code(name, spec))
    used |= _kernel_sources(used)
    declared = _declared(spec)
    missing = sorted(str(p.relative_to(PROJECT_ROOT)) for p in used if not _covered(p, declared))
    assert not missing, f"{name} imports but dvc.yaml does not declare: {missing}"


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_declares_no_code_it_does_not_use(name):
    spec = _stages()[name]
    used = closure(_stage_code(name, spec))
    used |= _kernel_sources(used)
    unused = [str(dep.relative_to(PROJECT_ROOT)) for dep in _declared(spec)
              if not any(path == dep or dep in path.parents for path in used)]
    assert not unused, f"{name} declares code it never imports: {unused}"


def test_imports_for_annotations_only_are_not_code_the_stage_runs():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipeline.model.transformer import TransformerLM\n"
    assert _imports(source) == {"typing", "typing.TYPE_CHECKING"}
    assert "pipeline.model.transformer" in _imports(source.replace("if TYPE_CHECKING:", "if True:"))


def test_the_check_fails_when_an_import_is_added():
    source = _module_file("stages.prepare").read_text() + "\nfrom pipeline.analysis import figures\n"
    declared = _declared(_stages()["prepare"])
    used = closure([source])
    assert any(not _covered(p, declared) for p in used)


@pytest.mark.parametrize("stage", ["benchmark", "train_studied", "sparsity"])
def test_editing_a_data_source_does_not_invalidate_the_stages_downstream_of_the_data(stage):
    """The data sources feed the prepare stage only; the tokenizer's rules and token arrays are what
    later stages read, so an edit to a loader re-runs prepare (and what its output feeds), never the
    132M benchmark's code dependency."""
    sources = {f"pipeline/data/{name}.py" for name in ("hub", "glue", "tinystories", "synthetic", "prepare", "prepared")}
    declared = {str(path.relative_to(PROJECT_ROOT)) for path in _declared(_stages()[stage])}
    assert not declared & sources
