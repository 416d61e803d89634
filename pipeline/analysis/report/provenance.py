"""Where a report came from: the git commit its outputs were generated on top of, the params file's
hash, the versions of the packages that produced the numbers, and the platform."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "dvc", "dvclive", "tokenizers", "datasets", "safetensors", "scikit-learn", "papermill")
NOT_A_CHECKOUT = "unknown (not a git checkout)"


def git_revision(root: Path) -> str:
    """The short hash of ``HEAD`` in ``root``, or :data:`NOT_A_CHECKOUT` outside git (or without git).

    The commit the outputs were generated on top of: they are usually committed right after, so a
    "dirty" flag would only say that and make the report depend on git state."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return NOT_A_CHECKOUT


def provenance(root: Path, params_path: Path) -> dict[str, str]:
    """Git revision, params hash (first 16 hex digits of its sha256), package versions, platform."""
    packages = {name: metadata.version(name) for name in PACKAGES}
    return {"git commit (outputs generated on top of it)": git_revision(root),
            "params sha256": hashlib.sha256(params_path.read_bytes()).hexdigest()[:16],
            "python": platform.python_version(), "platform": f"{platform.system()} {platform.machine()}",
            **{f"package {name}": version for name, version in packages.items()}}
