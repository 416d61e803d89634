"""Where every run writes: the one place that spells a run's paths.

A run is one (role, seed) of the main study, or of an *arm* (a variant declared in ``arms`` in
params.yaml, trained by the ``train_arm`` stages). Model checkpoints are DVC outputs; metrics, timing
the DVCLive curves and the per-layer code statistics are ``cache: false`` (git-tracked), so the
analysis stages read run folders only; the resume file is scratch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import ROLES

__all__ = ["ARCHIVE_META", "SUPERSEDED_BY", "ZERO_CURVE_METRIC", "Outputs", "RunPaths", "arm_dir", "list_archives", "run_name",
           "scratch_glue"]


# the per-epoch zero percentages each train stage logs (eval/<name>), by the part of the depth they cover
ZERO_CURVE_METRIC = {"all": "zero_pct", "middle": "zero_pct_middle", "boundary": "zero_pct_boundary"}
# The seconds a timing file records: a training run's runs/.../timing.json its optimizer steps and epoch
# evaluations (pipeline/training/train.py), a stage's metrics/timing/<stage>.json its whole wall clock
# (stages/common.py).
RUN_SECONDS_KEY = "train_seconds"
STAGE_SECONDS_KEY = "seconds"
ARCHIVE_META = "archive.json"  # written last by pipeline/analysis/archive.py: its folder is a complete archive
# archive.json's key naming the archive that replaced this one (archive --retire-as): listed, never pooled
SUPERSEDED_BY = "superseded_by"


def list_archives(results: Path) -> list[Path]:
    """The archives under ``results`` (folders holding :data:`ARCHIVE_META`), by name. Hidden folders
    are left out: ``.NAME.partial`` and ``.NAME.old`` are an interrupted or finishing swap, whose
    verdicts would otherwise be pooled twice or half-written."""
    if not results.is_dir():
        return []
    return sorted(path for path in results.iterdir()
                  if not path.name.startswith(".") and (path / ARCHIVE_META).is_file())


def run_name(role: str, seed: int, arm: str | None = None) -> str:
    """``studied/seed_0`` for the main study; ``arms/<arm>/seed_0/studied`` for an arm, so that one
    folder (:func:`arm_dir`) holds everything one ``train_arm`` stage writes."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; accepted: {ROLES}")
    return f"{role}/seed_{seed}" if arm is None else f"arms/{arm}/seed_{seed}/{role}"


def arm_dir(kind: str, arm: str, seed: int, root: Path = Path(".")) -> Path:
    """``models/arms/<arm>/seed_<seed>`` or ``runs/...``: the outputs of one train_arm stage."""
    return root / kind / "arms" / arm / f"seed_{seed}"


def scratch_glue(role: str, seed: int, root: Path = Path(".")) -> Path:
    """``runs/scratch/<role>/seed_<seed>/glue.json``: the no-pretraining control of one role and seed
    (the architecture from its initial weights, fine-tuned as the pre-trained model is)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; accepted: {ROLES}")
    return root / "runs" / "scratch" / role / f"seed_{seed}" / "glue.json"


@dataclass(frozen=True)
class RunPaths:
    """Every file one run writes or reads."""

    model: Path
    metrics: Path
    timing: Path
    live_dir: Path
    glue: Path
    resume: Path
    layers: Path  # the per-layer code statistics at the end of training (pipeline/model/stats.py)

    @property
    def loss_curve(self) -> Path:
        """The DVCLive training-loss series (step, loss)."""
        return self.live_dir / "plots" / "metrics" / "train" / "loss.tsv"

    def eval_curve(self, split: str) -> Path:
        """The DVCLive end-of-epoch ``train`` or ``val`` loss series (step, <split>_loss)."""
        return self.live_dir / "plots" / "metrics" / "eval" / f"{split}_loss.tsv"

    def zero_curve(self, part: str) -> Path:
        """The DVCLive end-of-epoch zero percentage of the ternary codes (step, zero_pct[_part]) over
        ``all`` block layers, or the ``middle`` band or the ``boundary`` layers (pipeline/training/train.py)."""
        return self.live_dir / "plots" / "metrics" / "eval" / f"{ZERO_CURVE_METRIC[part]}.tsv"

    @classmethod
    def for_run(cls, role: str, seed: int, root: Path = Path("."), arm: str | None = None) -> "RunPaths":
        run = run_name(role, seed, arm)
        return cls(model=root / "models" / run / "model.safetensors", metrics=root / "runs" / run / "metrics.json",
                   timing=root / "runs" / run / "timing.json", live_dir=root / "runs" / run / "live",
                   glue=root / "runs" / run / "glue.json", resume=root / "checkpoints" / run / "resume.safetensors",
                   layers=root / "runs" / run / "layers.csv")


@dataclass(frozen=True)
class Outputs:
    """Every path a stage writes outside the runs (``Outputs(root)``; ``root`` is the project folder or
    an archive under ``results/``). Stages write here, the report and the archive read here."""

    root: Path = Path(".")

    @property
    def prepared(self) -> Path:
        return self.root / "data" / "prepared"

    @property
    def tokens_dir(self) -> Path:
        return self.root / "data" / "tokens"

    @property
    def tokenizer(self) -> Path:
        return self.tokens_dir / "tokenizer.json"

    def metrics(self, name: str) -> Path:
        """``metrics/<name>.json``: data, tokens, benchmark, sparsity, summary, arms."""
        return self.root / "metrics" / f"{name}.json"

    @property
    def benchmark_table(self) -> Path:
        """The benchmark's tidy table (pipeline/bench/table.py)."""
        return self.root / "metrics" / "benchmark.csv"

    @property
    def regime_map(self) -> Path:
        """The regime map of the regularization contrast, one row per pair (pipeline/analysis/regimes.py)."""
        return self.root / "metrics" / "regime_map.csv"

    @property
    def glue_sweep(self) -> Path:
        """The learning-rate sweep's choice per task (stage glue_sweep, pipeline/training/glue.py)."""
        return self.root / "metrics" / "glue_sweep.json"

    @property
    def glue_bow(self) -> Path:
        """The bag-of-words reference per task (stage glue_bow, pipeline/training/bow.py)."""
        return self.root / "metrics" / "glue_bow.json"

    @property
    def glue_provisional(self) -> Path:
        """A partial archive's GLUE comparisons over the fine-tunes finished so far (pipeline/analysis/archive.py)."""
        return self.root / "metrics" / "glue_provisional.json"

    @property
    def sparsity_layers(self) -> Path:
        return self.root / "metrics" / "sparsity_layers.csv"

    def plot(self, name: str) -> Path:
        """``metrics/plots/<name>.csv``, the data of a ``dvc plots`` plot."""
        return self.root / "metrics" / "plots" / f"{name}.csv"

    def timing(self, stage: str) -> Path:
        return self.root / "metrics" / "timing" / f"{stage}.json"

    @property
    def params_check(self) -> Path:
        """The validate stage's gate file: constant for every valid params.yaml (stages/validate.py)."""
        return self.root / "metrics" / "params_check.json"

    @property
    def claims(self) -> Path:
        return self.root / "reports" / "claims.json"

    @property
    def figures(self) -> Path:
        return self.root / "reports" / "figures"

    @property
    def report(self) -> tuple[Path, Path]:
        """The executed report notebook and its HTML rendering."""
        return self.root / "reports" / "report.ipynb", self.root / "reports" / "report.html"
