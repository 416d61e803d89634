"""What the device check runs: its presets (model size, batch, step and token counts), the project
config it builds them from, and the folder it reads and writes.

The models and the training recipe are the ``paper-code-fixed`` profile's (the notebook's recipe
with its two bugs fixed: the ternary model at init 0.02 and the exact FP32 twin as baseline), on the
local real data (``../shared/data``: TinyStories, bert-base-uncased rebuilt from its vocab.txt),
layered on ``params.yaml`` as a profile switch would (``profiles/default.yaml``, then the profile),
and validated by :func:`pipeline.config.parse_config`. A preset only sets the architecture and the
counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.bench.devicecheck.device import Device
from pipeline.config import Config, deep_merge, parse_config, read_params
from pipeline.paper import PAPER_VOCAB_SIZE

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
PROFILE = "paper-code-fixed"
ROLE_LABELS = {"ternary": "studied", "fp32": "baseline"}  # the check's names for train.py's roles


@dataclass(frozen=True)
class Preset:
    """The sizes one run of the check uses (the recipe itself comes from :data:`PROFILE`)."""

    name: str
    arch: str  # a preset of pipeline.config.ARCH_PRESETS
    batch_size: int  # training batch (sequences of arch.seq_len)
    warmup_steps: int  # untimed training steps before timing (compilation happens here)
    timed_s: float  # torch.utils.benchmark's min_run_time per throughput item, capped by its budget
    train_steps: int  # the short training's steps, unless its time limit comes first
    eval_windows: int  # validation windows of the loss before and after the short training
    prompt_tokens: int
    decode_tokens: int
    repeats: int  # timed decodes per format (after one warm-up)


PRESETS = {
    # The paper's 132M model at the notebook's batch (32 x 128 tokens).
    "paper": Preset("paper", arch="paper", batch_size=32, warmup_steps=3, timed_s=3.0, train_steps=300,
                    eval_windows=64, prompt_tokens=16, decode_tokens=32, repeats=5),
    # The tests' model: every section in seconds on a CPU.
    "tiny": Preset("tiny", arch="tiny", batch_size=4, warmup_steps=1, timed_s=0.1, train_steps=12,
                   eval_windows=4, prompt_tokens=4, decode_tokens=4, repeats=2),
}


@dataclass(frozen=True)
class CheckPaths:
    """The check's folder (git-ignored): ``prepare`` writes the corpus and tokens, the run reads them."""

    root: Path

    @property
    def prepared(self) -> Path:
        return self.root / "prepared"

    @property
    def tokens(self) -> Path:
        return self.root / "tokens"

    @property
    def result(self) -> Path:
        return self.root / "devicecheck.json"


def check_config(preset: Preset, data_dir: Path = SHARED_DATA, params: Path = PROJECT_ROOT / "params.yaml") -> Config:
    """The validated project config the check runs: :data:`PROFILE` on ``params``, the local data
    under ``data_dir``, the paper's ternary quantizer, and the preset's architecture and batch."""
    data_dir = Path(data_dir).resolve()
    raw = read_params(params)
    for layer in (read_params(PROJECT_ROOT / "profiles" / "default.yaml"),
                  read_params(PROJECT_ROOT / "profiles" / f"{PROFILE}.yaml")):
        raw = deep_merge(raw, layer)
    raw = deep_merge(raw, {
        "profile": PROFILE,
        "data": {"source": "local", "max_train_stories": None, "max_val_stories": None,
                 "local": {"tinystories_train": str(data_dir / "tinystories" / "TinyStories-train.head-2MiB.txt"),
                           "tinystories_val": str(data_dir / "tinystories" / "TinyStories-validation.first1000.hf.txt"),
                           "glue_dir": str(data_dir / "glue")}},
        "tokenizer": {"kind": "bert_vocab_file",
                      "vocab_file": str(data_dir / "tokenizer" / "bert-base-uncased" / "vocab.txt")},
        "model": {"arch": preset.arch, "quant": "ternary", "scale": "absmean", "act_bits": 8},
        "train": {"batch_size": preset.batch_size},
    })
    return parse_config(raw, source=f"{params} with profile {PROFILE!r} and device-check preset {preset.name!r}")


@dataclass(frozen=True)
class CheckContext:
    """Everything a section needs."""

    cfg: Config
    preset: Preset
    device: Device
    paths: CheckPaths
    threads: int
    seed: int
    train_steps: int
    vocab_size: int = PAPER_VOCAB_SIZE  # bert-base-uncased's, which prepare's tokens also have

    def describe(self) -> dict:
        """What the JSON records of the run's settings."""
        model, train = self.cfg.model, self.cfg.train
        return {"profile": PROFILE, "preset": asdict(self.preset), "vocab_size": self.vocab_size,
                "arch": model.arch.model_dump(), "seed": self.seed, "train_steps": self.train_steps,
                "roles": {label: model.for_role(role).model_dump() for label, role in ROLE_LABELS.items()},
                "train": train.model_dump(include={"batch_size", "optimizer", "schedule", "cycle_momentum",
                                                   "warmup_fraction", "warmup_steps", "grad_clip",
                                                   "label_smoothing", "sequences"}),
                "tokenizer": self.cfg.tokenizer.model_dump(include={"kind", "story_wrap"}),
                "packed_head_dtype": self.cfg.benchmark.head_dtype,
                # every item starts with the train stage's seed_everything, which turns these on
                "deterministic_algorithms": True}
