"""What it would take to test a claim this run cannot: the command that tests it and its price,
computed from params, never typed.

Training is priced per token of one model, on one of two rates:

* a GPU rate from the notebook's own log: 2,031-2,074 s per epoch on two NVIDIA T4s for 12,941,776
  tokens of the 132M model (``pipeline.paper``), i.e. T4-hours;
* a CPU rate measured by this run: the training tokens per second in its runs' ``timing.json``,
  i.e. hours of this CPU as the runs used it.

A rate measured on one model is carried to another by the ratio of training FLOPs per token (6 x the
parameters outside the embedding table + 12 x layers x width x sequence, as
``pipeline.training.throughput`` counts them): an estimate, and the cost text says so. A job is
models x seeds x epochs x tokens per epoch, so doubling ``train.epochs`` doubles its price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pipeline.config import ArchConfig, Config, deep_merge, parse_config
from pipeline.paper import (NOTEBOOK_EPOCH_SECONDS, NOTEBOOK_GPU, NOTEBOOK_GPU_COUNT, NOTEBOOK_TRAIN_TOKENS,
                            PAPER_ARCH, PAPER_TRAIN_STORIES, PAPER_VOCAB_SIZE, param_counts)
from pipeline.profiles import read_profile

# The command that measures what the paper's device class would show, until a device-check command
# exists: its arguments are spelt once here, for the command line and for its price.
DEVICE_CHECK_ARGS = {"arch": "paper", "device": "cuda", "steps": 20, "warmup": 5, "batch-size": 32}
DEVICE_CHECK = "python -m pipeline.training.throughput " + " ".join(f"--{k} {v}" for k, v in DEVICE_CHECK_ARGS.items())
# GLUE's training sets (Wang et al. 2018; the counts of ../shared/data/glue): what fine-tuning BERT-Base costs.
GLUE_TRAIN_EXAMPLES = {"mrpc": 3668, "sst2": 67349, "cola": 8551}
BERT_GLUE_COMMAND = ("outside this pipeline (it fine-tunes no BERT-Base): Hugging Face transformers' "
                     "examples/pytorch/text-classification/run_glue.py --model_name_or_path bert-base-uncased "
                     "--task_name mrpc|sst2|cola")


def flops_per_token(arch: ArchConfig, vocab_size: int) -> float:
    """Training FLOPs per token of one model: 6 x non-embedding parameters + 12 x layers x width x sequence."""
    return 6.0 * param_counts(arch, vocab_size).non_embedding + 12.0 * arch.n_layers * arch.dim * arch.seq_len


@dataclass(frozen=True)
class Rate:
    """Device-seconds per training token of one model (low, high), measured on ``arch``."""

    device: str
    seconds_per_token: tuple[float, float]
    arch: ArchConfig
    vocab_size: int
    source: str

    def scale(self, arch: ArchConfig, vocab_size: int) -> float:
        """How much dearer a token of ``arch`` is than a token of the model the rate was measured on."""
        return flops_per_token(arch, vocab_size) / flops_per_token(self.arch, self.vocab_size)


def t4_rate() -> Rate:
    """The notebook's: two T4s, 2,031-2,074 s per 12,941,776-token epoch of the 132M model."""
    low, high = (NOTEBOOK_GPU_COUNT * seconds / NOTEBOOK_TRAIN_TOKENS for seconds in NOTEBOOK_EPOCH_SECONDS)
    return Rate(f"{NOTEBOOK_GPU}-hours", (low, high), PAPER_ARCH, PAPER_VOCAB_SIZE,
                (f"the notebook's log: {NOTEBOOK_EPOCH_SECONDS[0]:,.0f}-{NOTEBOOK_EPOCH_SECONDS[1]:,.0f} s per "
                 f"{NOTEBOOK_TRAIN_TOKENS:,}-token epoch on {NOTEBOOK_GPU_COUNT} x {NOTEBOOK_GPU}"))


@dataclass(frozen=True)
class Job:
    """Training runs to price: ``models`` x ``seeds`` runs of ``epochs`` x ``tokens`` tokens each."""

    what: str
    models: int
    seeds: int
    epochs: int
    tokens: int
    arch: ArchConfig
    vocab_size: int

    @property
    def total_tokens(self) -> int:
        """Every training token of every run of the job."""
        return self.models * self.seeds * self.epochs * self.tokens


@dataclass(frozen=True)
class Price:
    """The command that tests a claim and what it costs: ``hours`` (low, high) of ``device``."""

    command: str
    device: str
    hours: tuple[float, float]
    how: str

    def cost(self) -> dict[str, Any]:
        """The entry's ``cost`` field."""
        return {"hours": list(self.hours), "device": self.device, "how": self.how}


def price(command: str, jobs: list[Job], rate: Rate) -> Price:
    """``jobs`` at ``rate``, each scaled from the rate's model to its own by FLOPs per token."""
    low = high = 0.0
    parts = []
    for job in jobs:
        scale = rate.scale(job.arch, job.vocab_size)
        low += job.total_tokens * rate.seconds_per_token[0] * scale / 3600
        high += job.total_tokens * rate.seconds_per_token[1] * scale / 3600
        parts.append(f"{job.what}: {job.models} model(s) x {job.seeds} seed(s) x {job.epochs} epoch(s) x "
                     f"{job.tokens:,} tokens" + ("" if abs(scale - 1) < 1e-9 else f" (x{scale:.2f} FLOPs per token)"))
    return Price(command, rate.device, (low, high), "; ".join(parts) + f"; at {rate.source}")


@dataclass(frozen=True)
class Pricing:
    """What this run knows to price with: its params, its corpus and its measured training speed."""

    cfg: Config
    train_tokens: int
    vocab_size: int
    tokens_per_second: float | None  # mean over the main runs' timing.json; None when not measured
    device: str = "this CPU"  # what the runs trained on (timing.json), e.g. "cpu (2 threads)"

    def cpu_rate(self) -> Rate:
        """This run's measured rate (seconds per token of its own model)."""
        if not self.tokens_per_second:
            raise ValueError("no measured tokens/s: timing.json of the main runs is missing")
        per_token = 1.0 / self.tokens_per_second
        return Rate(f"hours of {self.device}", (per_token, per_token), self.cfg.model.arch, self.vocab_size,
                    f"{self.tokens_per_second:,.0f} training tokens/s measured by this run (timing.json)")


Remedy = Callable[[Pricing], Price]  # a claim's way to be tested, priced for this run


def main_job(cfg: Config, tokens: int, vocab_size: int, seeds: int | None = None, epochs: int | None = None,
             what: str = "main runs") -> Job:
    """Both roles of the main runs under ``cfg`` (or ``seeds`` / ``epochs`` instead of its own)."""
    return Job(what, 2, len(cfg.train.seeds) if seeds is None else seeds, epochs or cfg.train.epochs, tokens,
               cfg.model.arch, vocab_size)


def arm_jobs(cfg: Config, tokens: int, vocab_size: int, arms: list[str] | None = None,
             seeds: int | None = None) -> list[Job]:
    """Every arm ``arms`` names (default: those the params run), each role at the arm's epochs."""
    jobs = []
    for arm in cfg.arms.run if arms is None else arms:
        spec = cfg.arms.defs[arm]
        epochs = int(spec.changes.get("train.epochs", cfg.train.epochs))
        jobs.append(Job(f"arm {arm}", len(spec.roles), len(cfg.arms.seeds) if seeds is None else seeds, epochs,
                        tokens, cfg.model.arch, vocab_size))
    return jobs


def profile_config(cfg: Config, name: str) -> Config:
    """``cfg`` switched to profile ``name`` as ``python -m pipeline.profiles`` would write it."""
    tree = cfg.model_dump(mode="json")
    for layer in (read_profile("default"), read_profile(name)):
        tree = deep_merge(tree, _only_defined_arms(layer, tree))
    return parse_config(tree, source=f"profile {name}")


def _only_defined_arms(layer: dict, tree: dict) -> dict:
    """``layer`` without the arms ``tree`` does not define: a profile sets keys of the arms its params
    file defines, and an archive's params may predate arms defined since. Those are left out of the
    definitions and of ``run`` (an archive re-judged prices such a profile without them: a lower bound)."""
    arms = layer.get("arms", {})
    defined = tree.get("arms", {}).get("defs", {})
    if not arms.get("defs") and not arms.get("run"):
        return layer
    trimmed = dict(arms)
    if "defs" in arms:
        trimmed["defs"] = {arm: spec for arm, spec in arms["defs"].items() if arm in defined}
    if "run" in arms:
        trimmed["run"] = [arm for arm in arms["run"] if arm in defined]
    return {**layer, "arms": trimmed}



def profile_run(name: str, on_gpu: bool) -> Remedy:
    """``python -m pipeline.profiles NAME && dvc repro``: every training run of the profile (main runs and
    arms), on the notebook's T4s (``on_gpu``) or this CPU. Its corpus is priced at the notebook's tokens
    per real TinyStories story (12,941,776 / 60,000) unless it is this run's own."""
    def remedy(p: Pricing) -> Price:
        cfg = profile_config(p.cfg, name)
        vocab = PAPER_VOCAB_SIZE if cfg.tokenizer.kind != "trained_wordpiece" else cfg.tokenizer.vocab_size
        same_data = (cfg.data.model_dump(), cfg.tokenizer.model_dump()) == (p.cfg.data.model_dump(),
                                                                            p.cfg.tokenizer.model_dump())
        if same_data:
            tokens, vocab = p.train_tokens, p.vocab_size
        elif cfg.data.max_train_stories is not None:
            tokens = round(cfg.data.max_train_stories * NOTEBOOK_TRAIN_TOKENS / PAPER_TRAIN_STORIES)
        else:
            raise ValueError(f"profile {name!r} sets no data.max_train_stories: its corpus cannot be priced")
        jobs = [main_job(cfg, tokens, vocab, what=f"{name} main runs"), *arm_jobs(cfg, tokens, vocab)]
        return price(f"python -m pipeline.profiles {name} && dvc repro", jobs, t4_rate() if on_gpu else p.cpu_rate())
    return remedy


def device_check(p: Pricing) -> Price:
    """The paper's device class (a GPU): :data:`DEVICE_CHECK` times both models' training steps."""
    steps = DEVICE_CHECK_ARGS["steps"] + DEVICE_CHECK_ARGS["warmup"]
    tokens = DEVICE_CHECK_ARGS["batch-size"] * PAPER_ARCH.seq_len * steps
    job = Job("both 132M models", 2, 1, 1, tokens, PAPER_ARCH, PAPER_VOCAB_SIZE)
    return price(DEVICE_CHECK, [job], t4_rate())


def bert_glue(p: Pricing) -> Price:
    """Fine-tuning BERT-Base (the 132M model's size) on the GLUE tasks at the paper recipe's GLUE params."""
    glue = profile_config(p.cfg, "paper-code").glue
    examples = sum(GLUE_TRAIN_EXAMPLES[task] for task in glue.tasks)
    # tokens over every epoch of every task; the job then runs them once
    tokens = sum(GLUE_TRAIN_EXAMPLES[task] * glue.task_max_len(task) * glue.task_epochs(task) for task in glue.tasks)
    lengths = "/".join(str(glue.task_max_len(task)) for task in glue.tasks)
    epochs = "/".join(str(glue.task_epochs(task)) for task in glue.tasks)
    job = Job(f"BERT-Base on {', '.join(glue.tasks)} ({examples:,} examples of {lengths} tokens, {epochs} epochs)",
              1, 1, 1, tokens, PAPER_ARCH, PAPER_VOCAB_SIZE)
    return price(BERT_GLUE_COMMAND, [job], t4_rate())


def paper_arch_bench(p: Pricing) -> Price:
    """The 132M-shape benchmark this run skipped: at least one forward per prompt and decoded token, per
    repeat and format, each ~1/3 of a training token's FLOPs (a lower bound: the pure-PyTorch formats
    re-derive their weights on every call)."""
    bench = p.cfg.benchmark
    tokens = (bench.prompt_tokens + bench.decode_tokens) * (bench.repeats + 1) * 5 // 3
    job = Job("132M benchmark (5 formats, lower bound)", 1, 1, 1, tokens, PAPER_ARCH, PAPER_VOCAB_SIZE)
    return price("dvc exp run -S benchmark.paper_arch=true", [job], p.cpu_rate())


# --- remedies the claims table names -----------------------------------------------------------------------

PAPER_SCALE_RUN = profile_run("paper-code", on_gpu=True)
CPU_STUDY_RUN = profile_run("cpu-study", on_gpu=False)
REGIME_MAP_RUN = profile_run("regime-map", on_gpu=False)
WRITINGPROMPTS_COMMAND = ("dvc exp run -S data.source=hub -S data.hub.tinystories=euclaise/writingprompts "
                          "-S data.hub.text_field=story")


def longer(arm: str | None) -> Remedy:
    """The main runs (``arm`` None) or an arm trained for twice its epochs: whether that suffices is
    what the run would show."""
    def remedy(p: Pricing) -> Price:
        cfg = p.cfg
        if arm is None:
            epochs = 2 * cfg.train.epochs
            return price(f"dvc exp run -S train.epochs={epochs}",
                         [main_job(cfg, p.train_tokens, p.vocab_size, epochs=epochs)], p.cpu_rate())
        job = arm_jobs(cfg, p.train_tokens, p.vocab_size, [arm])[0]
        doubled = Job(job.what, job.models, job.seeds, 2 * job.epochs, job.tokens, job.arch, job.vocab_size)
        changes = f"arms.defs.{arm}.changes={{train.epochs: {doubled.epochs}}}"
        return price(f"dvc exp run -S 'arms.run=[{arm}]' -S '{changes}'", [doubled], p.cpu_rate())
    return remedy


def more_seeds(arm: str | None) -> Remedy:
    """The main runs or an arm at twice its seeds (at least 5); only the new seeds are priced (DVC's
    run cache keeps the others). An arm these params do not define is the CPU study's."""
    def remedy(p: Pricing) -> Price:
        cfg = p.cfg
        if arm is not None and arm not in cfg.arms.defs:
            return CPU_STUDY_RUN(p)
        current = len(cfg.train.seeds if arm is None else cfg.arms.seeds)
        target = max(2 * current, 5)
        listing = "[" + ",".join(str(seed) for seed in range(target)) + "]"
        if arm is None:
            return price(f"dvc exp run -S 'train.seeds={listing}'",
                         [main_job(cfg, p.train_tokens, p.vocab_size, seeds=target - current,
                                   what=f"main runs, {target - current} new seeds")], p.cpu_rate())
        return price(f"dvc exp run -S 'arms.run=[{arm}]' -S 'arms.seeds={listing}'",
                     arm_jobs(cfg, p.train_tokens, p.vocab_size, [arm], seeds=target - current), p.cpu_rate())
    return remedy


def writingprompts(p: Pricing) -> Price:
    """This run's main runs again, on WritingPrompts (priced at this run's corpus size)."""
    return price(WRITINGPROMPTS_COMMAND + " (needs network)",
                 [main_job(p.cfg, p.train_tokens, p.vocab_size, what="main runs on WritingPrompts at this run's "
                                                                      "corpus size")], p.cpu_rate())


def sparsity_rerun(p: Pricing) -> Price:
    """The sparsity stage again, once it measures the code change; priced as retraining every run (the
    upper bound, when DVC's cache no longer holds the checkpoints)."""
    jobs = [main_job(p.cfg, p.train_tokens, p.vocab_size), *arm_jobs(p.cfg, p.train_tokens, p.vocab_size)]
    return price("dvc repro -f -s sparsity (with the checkpoints in DVC's cache; else `dvc repro` retrains every run "
                 "first: the upper bound priced here)", jobs, p.cpu_rate())
