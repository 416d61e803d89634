"""Provenance: the commit the outputs were generated on top of, the params hash, the environment."""

import hashlib
import platform
import shutil
import subprocess

import pytest

from pipeline.analysis.report.provenance import NOT_A_CHECKOUT, PACKAGES, git_revision, provenance

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _git(root, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """tmp_path, with git kept from finding a repository above it."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_provenance_names_head_of_a_git_checkout_and_hashes_the_params(isolated):
    params = isolated / "params.yaml"
    params.write_text("train:\n  seeds: [0, 1]\n")
    _git(isolated, "init", "-q")
    _git(isolated, "add", "params.yaml")
    _git(isolated, "commit", "-q", "-m", "first")
    first = _git(isolated, "rev-parse", "--short", "HEAD")
    facts = provenance(isolated, params)
    assert facts["git commit (outputs generated on top of it)"] == first
    assert facts["params sha256"] == hashlib.sha256(b"train:\n  seeds: [0, 1]\n").hexdigest()[:16]
    assert facts["python"] == platform.python_version()
    assert set(f"package {name}" for name in PACKAGES) <= set(facts)

    params.write_text("train:\n  seeds: [0]\n")  # uncommitted: the revision stays HEAD's, the hash follows the file
    changed = provenance(isolated, params)
    assert changed["git commit (outputs generated on top of it)"] == first
    assert changed["params sha256"] != facts["params sha256"]
    _git(isolated, "commit", "-q", "-am", "second")
    assert git_revision(isolated) == _git(isolated, "rev-parse", "--short", "HEAD") != first


def test_outside_git_the_revision_is_unknown(isolated):
    assert git_revision(isolated) == NOT_A_CHECKOUT
