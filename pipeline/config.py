"""The one typed configuration, loaded from ``params.yaml`` and validated once.

Every stage calls :func:`load_config` first, so a typo or an out-of-range value stops the run with a
message naming the key and the accepted values before any data is read or any model is trained.
Code below the stages receives the piece it needs (``ModelConfig``, ``TrainConfig``...), never the
raw dict.

Longer than the ~300 lines STYLE.md suggests, on purpose: one section class per section of
params.yaml, each with its own checks, read top to bottom beside the file it validates; split, the
cross-section checks (arms, evaluation windows) would import each other.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, StringConstraints, ValidationError,
                      field_validator, model_validator)

from pipeline.errors import InputError, MissingInputError
from pipeline.io import read_text_file


class ConfigError(InputError):
    """``params.yaml`` is missing, malformed or holds a value the pipeline cannot use."""


# Values that dvc.yaml writes into command lines (``${item}`` of a foreach or matrix, which DVC runs
# through a shell) and into paths (models/arms/<arm>/...): seeds are plain non-negative integers and
# arm names lower-case words, so no params value can become a shell command or leave the repository.
Seed = Annotated[int, Field(ge=0, lt=2**31)]
ArmName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ARM_NAME_RULE = "a lower-case letter, then lower-case letters, digits or _ (at most 64)"
# What an arm run reads: an arm may change these keys and no others (the data, the tokenizer, the
# seeds and everything downstream of training come from the main params whatever an arm says).
ARM_CHANGEABLE = ("model.", "train.")
ARM_FIXED = ("train.seeds",)


class _Section(BaseModel):
    # frozen: code below the stages cannot mutate what ran; extra=forbid: a misspelled key is an
    # error, not a silently ignored default; strict: `batch_size: true` is not 1 and "3" is not 3;
    # allow_inf_nan=False: `lr: .inf` is refused here, not at step 2 of training.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class SyntheticDataConfig(_Section):
    """Sizes of the embedded, seeded synthetic corpus (the offline default)."""

    train_stories: PositiveInt
    val_stories: PositiveInt
    glue_train_examples: PositiveInt
    glue_dev_examples: PositiveInt


class LocalDataConfig(_Section):
    """Local copies of the real datasets; relative paths are relative to the project root."""

    tinystories_train: str
    tinystories_val: str
    glue_dir: str


class HubDataConfig(_Section):
    """Hugging Face hub dataset names (needs network)."""

    tinystories: str
    glue: str
    text_field: str = "text"  # the column holding each story (WritingPrompts: story)


class DataConfig(_Section):
    source: Literal["synthetic", "local", "hub"]
    seed: int
    synthetic: SyntheticDataConfig
    local: LocalDataConfig
    hub: HubDataConfig
    # None means "all of them"; the paper-code recipe streams the first 60,000 train stories.
    max_train_stories: PositiveInt | None = None
    max_val_stories: PositiveInt | None = None
    glue_max_train_examples: PositiveInt | None = None
    glue_max_dev_examples: PositiveInt | None = None


class TokenizerConfig(_Section):
    # trained_wordpiece: a WordPiece trained on the training corpus (offline default);
    # bert_vocab_file: bert-base-uncased rebuilt from a local vocab.txt (offline, paper ids);
    # bert_hub: bert-base-uncased fetched by name (needs network).
    kind: Literal["trained_wordpiece", "bert_vocab_file", "bert_hub"]
    vocab_size: PositiveInt
    vocab_file: str
    hub_name: str
    # How each story enters the token stream: "sep" (story [SEP]) or "cls_sep" ([CLS] story [SEP],
    # the notebook's FastDataset, which tokenized every story with the special tokens).
    story_wrap: Literal["sep", "cls_sep"] = "sep"


class ArchConfig(_Section):
    """What the studied model and its FP32 twin share; the baseline depends on this alone."""

    dim: PositiveInt
    n_layers: PositiveInt
    n_heads: PositiveInt
    mlp_ratio: PositiveFloat
    dropout: float = Field(ge=0.0, lt=1.0)
    seq_len: PositiveInt

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> "ArchConfig":
        if self.dim % self.n_heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of n_heads ({self.n_heads})")
        if (self.dim // self.n_heads) % 2:
            raise ValueError("dim / n_heads must be even for rotary position embeddings")
        return self

    @classmethod
    def from_name(cls, name: str, **changes: Any) -> "ArchConfig":
        """The preset ``name`` of :data:`ARCH_PRESETS`, with ``changes`` applied and validated
        (``ArchConfig.from_name("tiny", dropout=0.0)``)."""
        if name not in ARCH_PRESETS:
            raise ValueError(f"unknown architecture preset {name!r}; presets: {', '.join(ARCH_PRESETS)} "
                             "(or give the fields: dim, n_layers, n_heads, mlp_ratio, dropout, seq_len)")
        return cls(**ARCH_PRESETS[name].model_dump() | changes)


# Named architectures, litgpt style: each is written here and nowhere else. ``model.arch`` in a
# profile (or in params.yaml, or ``dvc exp run -S model.arch=paper``) may name one instead of listing
# its fields; ``python -m pipeline.profiles`` writes the fields out, so params.yaml stays the full
# record of what ran and ``dvc exp show`` compares experiments field by field.
# The paper's 132M model as its released notebook builds it: SwiGLU hidden int(768 * 2.67) = 2050
# (pipeline/paper.py holds the rest of what the paper fixes).
_PAPER = ArchConfig(dim=768, n_layers=12, n_heads=12, mlp_ratio=2.67, dropout=0.05, seq_len=128)
ARCH_PRESETS: dict[str, ArchConfig] = {
    "paper": _PAPER,
    "paper-text": _PAPER.model_copy(update={"seq_len": 512}),  # the paper README's 512-token sequences
    # The paper's depth (12 layers, so L5-L9 exist) at a width a 2-core CPU trains: the CPU study.
    "cpu-study": ArchConfig(dim=64, n_layers=12, n_heads=4, mlp_ratio=2.67, dropout=0.05, seq_len=128),
    "local": ArchConfig(dim=128, n_layers=4, n_heads=4, mlp_ratio=2.67, dropout=0.05, seq_len=128),
    "default": ArchConfig(dim=96, n_layers=4, n_heads=4, mlp_ratio=2.67, dropout=0.05, seq_len=64),
    "small": ArchConfig(dim=256, n_layers=4, n_heads=4, mlp_ratio=2.67, dropout=0.05, seq_len=128),
    # The tests' model (seconds per run), and the smallest model that runs (import-cost probes).
    "tiny": ArchConfig(dim=32, n_layers=2, n_heads=2, mlp_ratio=2.67, dropout=0.05, seq_len=32),
    "micro": ArchConfig(dim=16, n_layers=1, n_heads=2, mlp_ratio=2.67, dropout=0.0, seq_len=8),
}


# The quantizer names pipeline/model/quant.py implements (tests/test_config.py checks they match), kept
# here so the config is a leaf module that imports nothing of the pipeline.
QuantName = Literal["ternary", "binary", "fp32"]
Attention = Literal["causal", "bidirectional"]
Positions = Literal["rope", "learned"]
ROLES = ("studied", "baseline")


class RoleModel(_Section):
    """Everything that makes one role's model what it is, beyond the shared architecture.

    Built only through :meth:`resolve`, which holds the one rule for full precision: an ``fp32``
    model has no weight scale and no activation quantization. Stored in every checkpoint and
    rebuilt from it, so a loaded model is exactly the one that was trained.
    """

    quant: QuantName
    scale: Literal["absmean", "learned"] | None  # None for fp32: there is nothing to scale
    act_bits: Literal[0, 8]
    # Std of the normal init of the linear layers inside the blocks; embedding and head always use
    # 0.02. The released notebook's _init_weights reached only nn.Linear, so its ternary layers kept
    # std 1.0 while its full-precision layers got 0.02.
    init_std: PositiveFloat
    # causal: the decoder's mask. bidirectional: no mask, as the notebook's "FP16 baseline"
    # (nn.MultiheadAttention without attn_mask), which lets position t see token t+1.
    attention: Attention
    # rope: rotary embeddings (the notebook's TernaryLM). learned: a learned absolute position
    # table added to the token embedding (the notebook's baseline).
    positions: Positions

    @classmethod
    def resolve(cls, quant: str, scale: str = "absmean", act_bits: int = 8, init_std: float = 0.02,
                attention: str = "causal", positions: str = "rope") -> "RoleModel":
        full_precision = quant == "fp32"
        return cls(quant=quant, scale=None if full_precision else scale, act_bits=0 if full_precision else act_bits,
                   init_std=init_std, attention=attention, positions=positions)


class BaselineConfig(_Section):
    """The FP32 baseline's own settings; the defaults make it the exact FP32 twin."""

    init_std: PositiveFloat
    attention: Attention
    positions: Positions
    # The notebook's "FP16 baseline" ran with dropout 0.1 against the ternary model's 0.05; null keeps
    # model.arch.dropout (the exact twin).
    dropout: float | None = Field(default=None, ge=0.0, lt=1.0)


class ModelConfig(_Section):
    arch: ArchConfig  # or the name of one of ARCH_PRESETS
    # The studied model (the baseline is always fp32 and reads model.baseline instead).
    quant: QuantName
    scale: Literal["absmean", "learned"]
    act_bits: Literal[0, 8]  # 0 keeps activations in full precision
    init_std: PositiveFloat
    attention: Attention
    positions: Positions
    baseline: BaselineConfig

    @field_validator("arch", mode="before")
    @classmethod
    def _preset_by_name(cls, value: Any) -> Any:
        return ArchConfig.from_name(value) if isinstance(value, str) else value

    def arch_for(self, role: str) -> ArchConfig:
        """The architecture ``role`` trains: ``arch``, with the baseline's own dropout where it has one."""
        if role == "baseline" and self.baseline.dropout is not None:
            return self.arch.model_copy(update={"dropout": self.baseline.dropout})
        return self.arch

    def for_role(self, role: str) -> RoleModel:
        """The settings of the ``studied`` model or of the FP32 ``baseline``."""
        if role == "studied":
            return RoleModel.resolve(self.quant, self.scale, self.act_bits, self.init_std, self.attention,
                                     self.positions)
        if role == "baseline":
            b = self.baseline
            return RoleModel.resolve("fp32", init_std=b.init_std, attention=b.attention, positions=b.positions)
        raise ValueError(f"unknown role {role!r}; accepted: {ROLES}")


class OptimizerConfig(_Section):
    lr: PositiveFloat
    betas: list[float] = Field(min_length=2, max_length=2)
    weight_decay: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _betas_in_range(self) -> "OptimizerConfig":
        if not all(0.0 <= beta < 1.0 for beta in self.betas):
            raise ValueError(f"betas must each lie in [0, 1), got {list(self.betas)}")
        return self


class BaselineRecipe(_Section):
    """The keys of ``train`` the FP32 baseline may set for itself (null: as the studied model)."""

    schedule: Literal["onecycle", "cosine", "constant"] | None = None
    cycle_momentum: bool | None = None
    label_smoothing: float | None = Field(default=None, ge=0.0, lt=1.0)
    warmup_fraction: float | None = Field(default=None, ge=0.0, lt=1.0)
    warmup_steps: int | None = Field(default=None, ge=0)
    optimizer: OptimizerConfig | None = None


class TrainConfig(_Section):
    seeds: list[Seed] = Field(min_length=1)
    batch_size: PositiveInt
    epochs: PositiveInt
    max_steps: PositiveInt | None = None  # caps the epochs, for quick runs
    optimizer: OptimizerConfig
    # onecycle: the notebook's; cosine: the paper README's; constant: linear warm-up, then the peak
    # rate to the end (every epoch of one run is then a point on the training-length axis).
    schedule: Literal["onecycle", "cosine", "constant"]
    # onecycle only: cycle beta1 between 0.85 and 0.95 against the learning rate (torch's default,
    # which the notebook kept; it overrides optimizer.betas[0]). false keeps beta1 fixed.
    cycle_momentum: bool = False
    warmup_fraction: float | None = Field(default=None, ge=0.0, lt=1.0)
    warmup_steps: int | None = Field(default=None, ge=0)
    grad_clip: PositiveFloat
    label_smoothing: float = Field(ge=0.0, lt=1.0)
    log_every: PositiveInt
    checkpoint_every: PositiveInt
    # stream: windows of seq_len cut from one stream of stories joined by [SEP] (no padding).
    # per_story: one sequence per story, its first seq_len + 1 tokens, padded, padding excluded from
    # the loss (the notebook's tokenizer(..., max_length=128, truncation=True, padding="max_length")).
    sequences: Literal["stream", "per_story"] = "stream"
    # Token budget of the end-of-training train and validation perplexity evaluations (equal counts).
    eval_tokens: PositiveInt
    # Token budget of the train and validation loss logged at the end of every epoch (the curve).
    epoch_eval_tokens: PositiveInt = 4096
    threads: PositiveInt
    # auto = CUDA when available, else CPU. bf16 = autocast of the forward pass (CUDA); metrics are
    # always evaluated in fp32. compile = torch.compile the training forward/backward.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = "fp32"
    compile: bool = False
    processes: PositiveInt = 1  # > 1: the train stage re-launches itself under torchrun (DDP)
    # Train on the first N stories of the tokenized training split (null: all): corpora of several
    # sizes from one tokenize stage, for the regime map.
    max_stories: PositiveInt | None = None
    # The FP32 baseline's own recipe where it differs (the notebook trained its baseline with a
    # constant rate and no label smoothing); null: the same recipe as the studied model.
    baseline: "BaselineRecipe | None" = None

    def for_role(self, role: str) -> "TrainConfig":
        """The recipe ``role`` trains with: this one, with the baseline's own settings applied."""
        if role != "baseline" or self.baseline is None:
            return self
        changes = self.baseline.model_dump(exclude_none=True)
        given = set(changes)
        for chosen, other in (("warmup_steps", "warmup_fraction"), ("warmup_fraction", "warmup_steps")):
            if chosen in given:  # a warm-up given either way replaces the studied model's
                changes[other] = None
        if "optimizer" in changes:
            changes["optimizer"] = self.baseline.optimizer
        return self.model_copy(update=changes | {"baseline": None})

    @model_validator(mode="after")
    def _one_warmup(self) -> "TrainConfig":
        if (self.warmup_fraction is None) == (self.warmup_steps is None):
            raise ValueError("set exactly one of warmup_fraction and warmup_steps (the other null)")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds}")
        if self.checkpoint_every % self.log_every:
            # a resumed run must log the same steps as an uninterrupted one
            raise ValueError(f"checkpoint_every ({self.checkpoint_every}) must be a multiple of log_every "
                             f"({self.log_every})")
        if self.batch_size % self.processes:
            raise ValueError(f"batch_size ({self.batch_size}) must divide evenly over processes ({self.processes})")
        return self


GlueTask = Literal["mrpc", "sst2", "cola"]


class GlueSweepConfig(_Section):
    """The learning-rate sweep (stage ``glue_sweep``): the FP32 twin of the first main seed fine-tuned
    at each rate on the training split less a held-out slice, scored on that slice after every epoch;
    the best (rate, epochs) per task is what every fine-tune then uses. ``lrs: []`` skips it
    (``glue.lr`` and ``glue.epochs`` as given)."""

    lrs: list[PositiveFloat]
    holdout_fraction: float = Field(gt=0.0, lt=0.5)  # of each task's training rows, a seeded random slice


class GlueConfig(_Section):
    tasks: list[GlueTask] = Field(min_length=1)
    # the most epochs a fine-tune (or the sweep) runs, one number for every task or one per task
    epochs: PositiveInt | dict[GlueTask, PositiveInt]
    batch_size: PositiveInt
    lr: PositiveFloat  # used where the sweep does not run
    weight_decay: float = Field(ge=0.0)
    # tokens per example, one for every task or one per task (chosen from each task's token lengths:
    # the glue.json of every run records the share it truncates)
    max_len: PositiveInt | dict[GlueTask, PositiveInt]
    # the first N training rows of a task at fine-tune time (null or absent: all the prepared rows)
    max_train_examples: dict[GlueTask, PositiveInt | None] = Field(default_factory=dict)
    # absent in archives made before the sweep existed: no sweep (glue.lr, glue.epochs)
    sweep: GlueSweepConfig = Field(default_factory=lambda: GlueSweepConfig(lrs=[], holdout_fraction=0.1))
    # the no-pretraining control: the same architectures from their initial weights, fine-tuned identically
    scratch_seeds: list[Seed] = Field(default_factory=list)
    # the pre-trained seeds fine-tuned (stages glue_studied@seed, glue_baseline@seed), each one of
    # train.seeds; absent (archives made before it existed): every main seed (Config.glue_seeds)
    seeds: list[Seed] | None = None
    grad_clip: PositiveFloat = 1.0  # gradient-norm clipping, as in pre-training

    @model_validator(mode="after")
    def _distinct_tasks(self) -> "GlueConfig":
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks must be distinct, got {self.tasks}")
        for key in ("max_len", "epochs"):
            value = getattr(self, key)
            if isinstance(value, dict) and set(self.tasks) - set(value):
                raise ValueError(f"{key} names no value for {sorted(set(self.tasks) - set(value))}: give one "
                                 "per task in glue.tasks, or one number for all")
        return self

    @staticmethod
    def _per_task(value: int | dict[str, int], task: str) -> int:
        """A setting given as one number for every task or as one per task, for ``task``."""
        return value[task] if isinstance(value, dict) else value

    def task_max_len(self, task: str) -> int:
        """The token budget of one task's examples."""
        return self._per_task(self.max_len, task)

    def task_epochs(self, task: str) -> int:
        """The most epochs one task's fine-tune (or its sweep) runs."""
        return self._per_task(self.epochs, task)


class BenchmarkConfig(_Section):
    decode_tokens: PositiveInt
    prompt_tokens: PositiveInt
    repeats: PositiveInt
    threads: PositiveInt
    paper_arch: bool  # also measure the paper's 132M architecture (random weights)
    head_dtype: Literal["fp32", "bf16"] = "bf16"  # embedding and head of the packed ternary model
    peer_rounds: PositiveInt = 9  # interleaved rounds of the llama.cpp comparison (pipeline/bench/peer.py)


class SparsityConfig(_Section):
    # The paper's "middle layers L5-L9" of 12, as a relative depth band so it applies to any depth.
    middle_band: list[float] = Field(min_length=2, max_length=2)

    @model_validator(mode="after")
    def _ordered_band(self) -> "SparsityConfig":
        low, high = self.middle_band
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"middle_band must be [low, high] with 0 <= low <= high <= 1, got {list(self.middle_band)}")
        return self


class ClaimsConfig(_Section):
    """Every tolerance and threshold the verdicts use; pipeline/analysis/claims.py says how each is applied.
    They are fixed before a run is judged: changing one after seeing results is tuning."""

    relative_tolerance: PositiveFloat  # single numbers and ratios: |ours / paper - 1| <= tol
    std_factor: float = Field(gt=1.0)  # seed spread: ours <= paper x factor (a 3-seed std is itself noisy)
    glue_points_tolerance: PositiveFloat  # GLUE against the paper: |ours - paper| <= tol points
    sparsity_points_tolerance: PositiveFloat  # the sparsity ranges: [low - t, high + t] points
    trivial_margin_points: PositiveFloat  # a GLUE score must beat its constant predictor by this
    overfit_threshold: float = Field(gt=1.0)  # FP32 val/train PPL ratio that counts as overfitting
    contrast_min_gap_fraction: float = Field(gt=0.0, le=1.0)  # share of the FP32 gap ternary must remove
    parity_tolerance: PositiveFloat  # "parity": |ternary / fp32 latency - 1| <= tol
    glue_retained_min: float = Field(gt=0.0, le=1.0)  # "keeps most": share of the twin's above-trivial gain
    sparsity_contrast_points: PositiveFloat  # middle minus boundary zeros that counts as "sparser"
    gaussian_shift_points: PositiveFloat  # distance from the Gaussian 31.0% that counts as "shaped"
    smooth_loss_tolerance: PositiveFloat  # "monotonic decay": a tenth may exceed the last by this fraction
    significance_level: float = Field(gt=0.0, lt=0.5)  # a seed test (t, F) decides only below this p
    min_test_seeds: int = Field(ge=2)  # fewer seeds than this: a seed test is at most "uninformative"
    min_learned_nats: PositiveFloat  # a trained model's val NLL must beat the unigram predictor's by this
    min_code_change_fraction: float = Field(gt=0.0, le=1.0)  # share of ternary codes changed since init
    # The notebook pair and the regime map (issue 22), fixed before their runs:
    notebook_ternary_ratio_max: float = Field(gt=1.0)  # "near 1.05": the notebook-recipe ternary val/train
    notebook_baseline_ratio_min: float = Field(gt=1.0)  # "far above": its maskless baseline's val/train
    leak_min_nats: PositiveFloat  # imposing the causal mask costs a next-token copier at least this (nats)
    memorised_ratio: float = Field(gt=1.0)  # the FP32 twin "memorises" a small corpus above this val/train
    overfit_measurable_ratio: float = Field(gt=1.0)  # ... and overfits a larger one measurably above this
    # The contrast at matched training loss counts ternary points at most this far into training loss
    # (nats): where both models have left the first, unigram-like phase.
    matched_loss_max_nats: PositiveFloat = 4.0


class ArmConfig(_Section):
    """One variant of the main runs: which roles it trains and which params keys it changes."""

    roles: list[Literal["studied", "baseline"]] = Field(min_length=1)
    # dotted params keys -> values, applied on top of this file (e.g. model.init_std: 1.0)
    changes: dict[str, Any]
    note: str  # what the arm tests, in a sentence the report prints


class ArmsConfig(_Section):
    seeds: list[Seed] = Field(min_length=1)
    run: list[ArmName]  # the arms dvc.yaml trains (train_arm@<arm>-<seed>); [] trains none
    defs: dict[ArmName, ArmConfig]

    @model_validator(mode="after")
    def _changes_an_arm_run_reads(self) -> "ArmsConfig":
        for name, arm in self.defs.items():
            for key in arm.changes:
                if not key.startswith(ARM_CHANGEABLE) or key.startswith(ARM_FIXED):
                    raise ValueError(f"arm {name!r} changes {key!r}, which an arm run does not read (it trains on the "
                                     f"main data, tokenizer and arms.seeds): an arm may change only model.* and "
                                     f"train.* keys other than train.seeds; make a profile for the rest")
        return self


class Config(_Section):
    profile: str
    data: DataConfig
    tokenizer: TokenizerConfig
    model: ModelConfig
    train: TrainConfig
    glue: GlueConfig
    benchmark: BenchmarkConfig
    sparsity: SparsityConfig
    claims: ClaimsConfig
    arms: ArmsConfig

    def arm_config(self, name: str) -> "Config":
        """This config with arm ``name``'s changes applied (validated; its own ``arms`` emptied)."""
        if name not in self.arms.defs:
            raise ConfigError(f"arms: unknown arm {name!r}; defined: {sorted(self.arms.defs)}")
        raw = self.model_dump(mode="json")
        raw["arms"] = {"seeds": list(self.arms.seeds), "run": [], "defs": {}}
        for key, value in self.arms.defs[name].changes.items():
            node, *parts = raw, *key.split(".")
            *parents, leaf = parts
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise ConfigError(f"arms.defs.{name}.changes: {key!r} is not a params key")
                node = node[part]
            if leaf not in node:
                raise ConfigError(f"arms.defs.{name}.changes: {key!r} is not a params key")
            node[leaf] = value
        return parse_config(raw, source=f"params.yaml with arm {name!r}")

    @model_validator(mode="after")
    def _eval_covers_a_window(self) -> "Config":
        if self.train.eval_tokens < self.model.arch.seq_len:
            raise ValueError(f"train.eval_tokens ({self.train.eval_tokens}) must be at least model.arch.seq_len "
                             f"({self.model.arch.seq_len}): evaluation needs one full window")
        return self

    @property
    def glue_seeds(self) -> list[int]:
        """The pre-trained seeds the GLUE fine-tunes run on: ``glue.seeds``, or every main seed where an
        archive's params predate it."""
        return list(self.train.seeds if self.glue.seeds is None else self.glue.seeds)

    @model_validator(mode="after")
    def _glue_seeds_trained(self) -> "Config":
        seeds = self.glue.seeds
        if seeds is not None and (not seeds or len(set(seeds)) != len(seeds) or set(seeds) - set(self.train.seeds)):
            raise ValueError(f"glue.seeds {seeds} must be distinct seeds of train.seeds {self.train.seeds} (at least "
                             "one): a fine-tune starts from that seed's pre-trained model")
        return self

    @model_validator(mode="after")
    def _arms_resolve(self) -> "Config":
        unknown = [name for name in self.arms.run if name not in self.arms.defs]
        if unknown:
            raise ValueError(f"arms.run names {unknown}, not defined in arms.defs ({sorted(self.arms.defs)})")
        for name in self.arms.defs:  # an arm's own config has no defs, so this does not recurse
            self.arm_config(name)
        return self


def deep_merge(base: dict, layer: dict) -> dict:
    """A copy of the params mapping ``base`` with ``layer`` set into it leaf by leaf (how a profile
    or an override lands on params.yaml)."""
    merged = copy.deepcopy(base)
    for key, value in layer.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (misspelled?); remove it or fix its name"
    if error["type"] == "missing":
        return f"{key}: missing; add it to params.yaml (see the README's params reference)"
    got = error.get("input")
    got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    if error["type"] == "string_pattern_mismatch":  # arm names: they reach command lines and paths
        return f"{key}: {got!r} is not a safe arm name; use {ARM_NAME_RULE}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key or '<top level>'}: {message}{got_text}"


def parse_config(raw: dict[str, Any], source: str = "params.yaml") -> Config:
    """Validate a params mapping; raise :class:`ConfigError` naming every bad key, in one line."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source} is invalid: " + "; ".join(_describe(e) for e in exc.errors())) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps the
    later value silently, so `lr:` written twice would run with whichever came last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"{self.name}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}: "
                                  f"key {key!r} appears twice in one section (first at line {seen[key] + 1}); "
                                  f"keep one")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 floats without a dot (2e-05, as ruamel and DVC write 0.00002) are strings to PyYAML's
# YAML 1.1 rules; read them as the floats every other YAML tool sees.
_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"),
                                       list("-+0123456789"))


def parse_yaml(text: str, source: str = "params.yaml") -> Any:
    """YAML text as Python data, with the params rules: duplicate keys and syntax errors are one-line
    ConfigErrors naming ``source``, line and column."""
    loader = _UniqueKeyLoader(text)
    loader.name = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: YAML syntax error: {exc.problem or exc.context}; fix that line "
                          f"(python -m pipeline.profiles default rewrites a valid file)") from None
    finally:
        loader.dispose()


def read_params(path: str | Path) -> Any:
    """The raw params mapping of a YAML file (see :func:`parse_yaml`)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path} not found: run from the project root, or pass --params PATH")
    return parse_yaml(read_text_file(path), str(path))


def load_config(path: str | Path = "params.yaml") -> Config:
    """Read and validate ``params.yaml`` (or another params file), including what only the main runs
    need (arms do not fine-tune, so :meth:`Config.arm_config` does not check it)."""
    cfg = parse_config(read_params(path), source=str(path))
    _check_glue_fits_positions(cfg, str(path))
    return cfg


def _check_glue_fits_positions(cfg: Config, source: str) -> None:
    """A role with learned absolute positions has ``seq_len`` of them: GLUE inputs longer than that
    would fail at fine-tuning, after pre-training, so they are refused before it."""
    learned = [role for role in ROLES if cfg.model.for_role(role).positions == "learned"]
    longest = max(cfg.glue.task_max_len(task) for task in cfg.glue.tasks)
    if learned and longest > cfg.model.arch.seq_len:
        raise ConfigError(f"{source}: glue.max_len ({longest}) exceeds model.arch.seq_len "
                          f"({cfg.model.arch.seq_len}), the learned positions of the {' and '.join(learned)} model: "
                          f"lower glue.max_len or raise model.arch.seq_len")
