"""Every ``python -m`` command the README and dvc.yaml give resolves to a module with a working
``--help``: a module moved or renamed without its documentation fails here."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT


def documented_modules() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text() + (PROJECT_ROOT / "dvc.yaml").read_text()
    for profile in (PROJECT_ROOT / "profiles").glob("*.yaml"):
        text += profile.read_text()
    return sorted(set(re.findall(r"python -m ((?:pipeline|stages)(?:\.\w+)+)", text)))


def test_the_readme_names_the_tools():
    modules = documented_modules()
    assert {"pipeline.profiles", "pipeline.analysis.archive", "pipeline.inference.export", "stages.validate"} <= set(modules)


@pytest.mark.parametrize("module", documented_modules())
def test_each_documented_command_has_a_help(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"python -m {module} --help failed:\n{done.stderr[-2000:]}"
    assert "usage:" in done.stdout
