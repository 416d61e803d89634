"""The summarize stage: aggregate the runs the params name into ``metrics/summary.json`` (flat keys,
mean and sample std over seeds, and per seed where a test needs it), ``metrics/arms.json`` (each arm
beside the main runs) and the claims table ``reports/claims.json``.

Only the runs named by ``train.seeds`` and ``arms`` are read, each by its exact path, so shrinking a
seed list never averages stale files left by an earlier run. Every name written is declared in the
metrics contract (``metrics_contract.py``) and checked against it before anything is returned. The
corpus's unigram baseline, which says whether a model learned anything, is computed here from the
tokenize stage's arrays.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.analysis.claims import MODEL_SCALE, Basis, build_claims
from pipeline.analysis.costs import Pricing
from pipeline.analysis.metrics_contract import (BENCH_SCOPES, BENCH_SETTINGS, PAPER_ARCH_BENCH, PAPER_DEVICE,
                                                PAPER_MODEL, PAPER_TRAINING, REAL_DATA, MetricsFile, check_written)
from pipeline.analysis.regimes import cells, matched_gap_by_run_set, matched_val_gaps, regime_curves, regime_table
from pipeline.analysis.sparsity import sparsity_curves
from pipeline.analysis.runsets import (GLUE_METRICS, LEAK_METRICS, RUN_METRICS, SEED_METRICS, UndeclaredMetricError,
                                       aggregate_key, arm_prefix, retained_key, transfer_key, code_change_key, contrast_key, gap_fraction_key, glue_metric,
                                       mean_std, per_seed_key, run_set_columns, run_set_labels, std_key)
from pipeline.bench.table import FORMAT_LABELS, TERNARY_FORMATS, UNITS, metric_key
from pipeline.config import ROLES, Config
from pipeline.data.tokens import load_tokens
from pipeline.io import read_json
from pipeline.layout import ZERO_CURVE_METRIC, Outputs, RunPaths, scratch_glue
from pipeline.metrics import HEADLINE_METRIC
from pipeline.paper import PAPER_ARCH, PAPER_TRAIN_STORIES, PAPER_VOCAB_SIZE
from pipeline.profiles import recipe_mismatches

# Just past ~300 lines: every reader of the runs' outputs (metrics, timing, curves, GLUE, sparsity, the
# benchmark) and the corpus's unigram baseline feed one summary, checked once against the contract.

# benchmark.json names of older runs for the ratios now written as weight_reduction and latency_over_fp32
# (recomputed here from weights_mb and ms_per_token, never mapped by name):
# ``<scope>_fp32_over_<format>_weights`` and ``<scope>_<format>_over_fp32_latency``.
_LEGACY_RATIO = re.compile(rf"(?:{'|'.join(BENCH_SCOPES)})_(?:fp32_over_\w+_weights|\w+_over_fp32_latency)")
_DERIVED = {"weight_reduction": "weights_mb", "latency_over_fp32": "ms_per_token"}  # ratio -> what it divides


def _add(summary: dict, key: str, values: list[float]) -> None:
    """Mean and sample std of ``values`` at ``key`` and its :func:`std_key`."""
    summary[key], summary[std_key(key)] = mean_std(values)


def run_context(cfg: Config, tokens: dict, benchmark: dict) -> dict[str, Any]:
    """Which of the paper's conditions this run meets (see pipeline/analysis/claims.py), and a label for the
    scale it was tested at. "Paper training" needs every key of the notebook's recipe
    (``pipeline.paper.recipe_mismatches``) and at least its 60,000 stories; "paper device" a benchmark
    that also ran on a GPU (its ``cuda_*`` rows)."""
    shape = ("dim", "n_layers", "n_heads", "mlp_ratio")
    same_shape = all(getattr(cfg.model.arch, key) == getattr(PAPER_ARCH, key) for key in shape)
    studied = cfg.model.for_role("studied")
    ternary_as_paper = studied.quant == "ternary" and studied.scale == "absmean" and studied.act_bits == 8
    mismatches = recipe_mismatches(cfg)
    context: dict[str, Any] = {
        REAL_DATA: tokens["data_source"] != "synthetic",
        PAPER_MODEL: same_shape and ternary_as_paper and tokens["vocab_size"] == PAPER_VOCAB_SIZE,
        PAPER_TRAINING: not mismatches["training"] and tokens["train_stories"] >= PAPER_TRAIN_STORIES,
        PAPER_DEVICE: metric_key("paper_arch", "cuda_fp32", "ms_per_token") in benchmark,
        PAPER_ARCH_BENCH: metric_key("paper_arch", "fp32", "weights_mb") in benchmark,
        "recipe": "paper-code" if not mismatches["paper-code"] else
                  "paper-code-fixed" if not mismatches["paper-code-fixed"] else "other",
        "recipe_mismatches": mismatches["training"],
        "bench_device": benchmark.get("device"),
    }
    arch = cfg.model.arch
    if all(context[need] for need in MODEL_SCALE):
        context["scale_label"] = "paper scale"
    elif context[REAL_DATA]:
        context["scale_label"] = (f"this CPU study (real data; {tokens['train_stories']} stories, dim {arch.dim}, "
                                  f"{arch.n_layers} layers, {cfg.train.epochs} epochs)")
    else:
        context["scale_label"] = "synthetic default"
    return context


def unigram_val_nats(tokens_dir: Path, vocab_size: int) -> float:
    """Validation NLL (nats per token) of the unigram predictor of the training split: token frequencies
    counted on ``train.npy``, add-one smoothed over the whole vocabulary, scored on ``val.npy``. A model
    must beat it to have learned anything beyond which tokens are common."""
    counts = np.bincount(np.asarray(load_tokens(tokens_dir / "train.npy"), dtype=np.int64), minlength=vocab_size)
    log_p = np.log(counts + 1.0) - np.log(counts.sum() + vocab_size)
    return float(-log_p[np.asarray(load_tokens(tokens_dir / "val.npy"), dtype=np.int64)].mean())


def loss_curves_table(cfg: Config, root: Path) -> pd.DataFrame:
    """Training loss per logged step, mean over the named seeds, one column per role."""
    frames = []
    for role in ROLES:
        for seed in cfg.train.seeds:
            curve = pd.read_csv(RunPaths.for_run(role, seed, root).loss_curve, sep="\t")
            frames.append(curve[["step", "loss"]].assign(role=role))
    return pd.concat(frames).groupby(["step", "role"])["loss"].mean().unstack("role").reset_index()


def epoch_curves_table(cfg: Config, root: Path) -> pd.DataFrame:
    """End-of-epoch train and val loss of every run (main and arms): the overfitting curves, long format."""
    frames = []
    for arm, roles, seeds in _run_sets(cfg):
        for role in roles:
            for seed in seeds:
                paths = RunPaths.for_run(role, seed, root, arm)
                for split in ("train", "val"):
                    curve = pd.read_csv(paths.eval_curve(split), sep="\t")
                    frames.append(pd.DataFrame({"arm": arm or "main", "role": role, "seed": seed, "split": split,
                                                "epoch": range(1, len(curve) + 1), "step": curve["step"],
                                                "loss": curve[f"{split}_loss"]}))
    return pd.concat(frames, ignore_index=True)


def epoch_curves_wide(cfg: Config, epochs: pd.DataFrame) -> pd.DataFrame:
    """Validation loss per epoch, mean over seeds, one fixed column per run set (``studied``,
    ``baseline``, ``<arm> <role>`` for every defined arm, empty where it did not run), for dvc plots."""
    val = epochs[epochs["split"] == "val"].copy()
    val["run"] = run_set_labels(val)
    wide = val.groupby(["epoch", "run"])["loss"].mean().unstack("run").reset_index()
    return wide.reindex(columns=["epoch", *run_set_columns(cfg.arms.defs)])


def zero_curves_table(cfg: Config, root: Path) -> pd.DataFrame:
    """The ternary model's zero percentages at the end of every epoch, mean over seeds, for the main
    runs and every arm that trains it (``pipeline/analysis/sparsity.py`` ``sparsity_curves``). A run
    whose train stage predates these curves (an older archive) has no files and is left out."""
    frames = []
    for arm, roles, seeds in _run_sets(cfg):
        if "studied" not in roles:
            continue
        for seed in seeds:
            paths = RunPaths.for_run("studied", seed, root, arm)
            files = {part: paths.zero_curve(part) for part in ZERO_CURVE_METRIC}
            if not all(path.is_file() for path in files.values()):
                continue
            # the three series joined on their steps: a run stopped between logging them keeps the epochs
            # that have all three
            run = None
            for path in files.values():
                curve = pd.read_csv(path, sep="\t")[["step", path.stem]]
                run = curve if run is None else run.merge(curve, on="step")
            frames.append(run.assign(run_set=arm or "main", seed=seed, epoch=range(1, len(run) + 1)))
    return sparsity_curves(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())


def _run_sets(cfg: Config):
    """(arm or None, roles, seeds) of the main runs and of every arm that runs."""
    yield None, ROLES, cfg.train.seeds
    for arm in cfg.arms.run:
        yield arm, cfg.arms.defs[arm].roles, cfg.arms.seeds


def _tenths(losses: pd.Series) -> list[float]:
    """Mean training loss of each tenth of a run (fewer parts for a run with fewer logged steps)."""
    return [chunk.mean() for chunk in np.array_split(losses.to_numpy(), min(10, len(losses))) if len(chunk)]


def max_loss_rise(curves: list[pd.Series]) -> float:
    """Largest relative rise of the mean training loss from one tenth of a run to the next, over runs
    (0 when every run's loss decays monotonically at that resolution)."""
    worst = 0.0
    for losses in curves:
        tenths = _tenths(losses)
        if not np.isfinite(tenths).all():
            return float("inf")
        worst = max([worst] + [(later - earlier) / earlier for earlier, later in zip(tenths, tenths[1:])])
    return float(worst)


def min_loss_fall(curves: list[pd.Series]) -> float:
    """Smallest fall of the mean training loss from the first tenth of a run to its last, over runs
    (nats): a flat loss has no rise either, and this tells the two apart."""
    falls = [tenths[0] - tenths[-1] for tenths in map(_tenths, curves)]
    return float(min(falls)) if all(np.isfinite(falls)) else float("-inf")


def _pair_contrast(summary: dict, studied: list[dict], baseline: list[dict], arm: str | None = None) -> None:
    """FP32 minus ternary val/train ratio, paired by seed (each difference kept for the t-test); and the
    share of the FP32 gap it removes."""
    key = contrast_key(arm)
    diffs = [b["train_val_ratio"] - s["train_val_ratio"] for s, b in zip(studied, baseline)]
    _add(summary, key, diffs)
    summary[f"{key}_n"], summary[per_seed_key(key)] = len(diffs), diffs
    gap = statistics.fmean(b["train_val_ratio"] for b in baseline) - 1.0
    summary[gap_fraction_key(arm)] = statistics.fmean(diffs) / gap if gap > 0 else float("nan")


def _role_summary(summary: dict, runs: list[dict], role: str, arm: str | None = None, beside: bool = False) -> None:
    """Mean and std over ``runs`` (one role's metrics.json files) of every run metric, and the per-seed
    values of those a test needs (not for the main runs beside an arm: those are the main runs')."""
    for name in RUN_METRICS:
        key = aggregate_key(role, name, arm, beside)
        _add(summary, key, [run[name] for run in runs])
        if name in SEED_METRICS and not beside:
            summary[per_seed_key(key)] = [run[name] for run in runs]
    for name in LEAK_METRICS:  # only a maskless model has a leak probe
        if not beside and runs and all(name in run for run in runs):
            key = aggregate_key(role, name, arm)
            _add(summary, key, [run[name] for run in runs])
            summary[per_seed_key(key)] = [run[name] for run in runs]


def finished_scratch_seeds(cfg: Config, root: Path) -> list[int]:
    """The ``glue.scratch_seeds`` whose no-pretraining control has run for both models under ``root``."""
    return [seed for seed in cfg.glue.scratch_seeds if all(scratch_glue(role, seed, root).is_file() for role in ROLES)]


def glue_summary(cfg: Config, root: Path) -> dict[str, Any]:
    """The summary's GLUE part from the fine-tunes under ``root``: each pre-trained model's dev scores
    over ``cfg.glue_seeds`` (mean and sample std, per seed), the no-pretraining control over the
    ``glue.scratch_seeds`` finished for both models (``scratch_*``, from runs/scratch/), the bag-of-words
    reference where metrics/glue_bow.json is (``bow_*``), pre-trained minus scratch paired by seed
    (``*_transfer``), and the share of the twin's gain over the constant predictor that ternary keeps,
    with a bootstrap interval over seeds (``*_retained_*``)."""
    summary: dict[str, Any] = {}
    pretrained = {role: [read_json(RunPaths.for_run(role, seed, root).glue) for seed in cfg.glue_seeds] for role in ROLES}
    for role in ROLES:
        for task in cfg.glue.tasks:
            for name in GLUE_METRICS:
                key, values = aggregate_key(role, glue_metric(task, name)), [run[task][name] for run in pretrained[role]]
                _add(summary, key, values)
                summary[per_seed_key(key)] = values
    scratch_seeds = finished_scratch_seeds(cfg, root)
    scratch = {role: [read_json(scratch_glue(role, seed, root)) for seed in scratch_seeds] for role in ROLES}
    bow = read_json(Outputs(root).glue_bow) if Outputs(root).glue_bow.is_file() else {}
    for task in cfg.glue.tasks:
        metric = HEADLINE_METRIC[task]
        for role in ROLES:
            for name in GLUE_METRICS:
                if scratch[role]:
                    key = f"scratch_{aggregate_key(role, glue_metric(task, name))}"
                    _add(summary, key, [r[task][name] for r in scratch[role]])
                    summary[per_seed_key(key)] = [r[task][name] for r in scratch[role]]
            if scratch[role]:
                by_seed = dict(zip(cfg.glue_seeds, pretrained[role]))
                diffs = [by_seed[seed][task][metric] - run[task][metric]
                         for seed, run in zip(scratch_seeds, scratch[role]) if seed in by_seed]
                key = transfer_key(role, task)
                _add(summary, key, diffs)
                summary[f"{key}_n"], summary[per_seed_key(key)] = len(diffs), diffs
        if task in bow:
            for name in GLUE_METRICS:
                summary[f"bow_{glue_metric(task, name)}"] = bow[task][name]
        _retained_interval(summary, task, [r[task][metric] for r in pretrained["studied"]],
                           [r[task][metric] for r in pretrained["baseline"]],
                           pretrained["baseline"][0][task][f"trivial_{metric}"], cfg.glue_seeds[0])
    return summary


def _retained_interval(summary: dict, task: str, ternary: list[float], twin: list[float], trivial: float,
                       seed: int) -> None:
    """(ternary - constant) / (twin - constant) from the seeds' means, and its 95% percentile bootstrap
    interval resampling each model's seeds (``scipy.stats.bootstrap``, 9,999 resamples, seeded); no
    interval below 2 seeds of each, or where a resample's twin sits at the constant predictor."""
    def share(ternary_: np.ndarray, twin_: np.ndarray, axis: int = -1) -> np.ndarray:
        return (np.mean(ternary_, axis=axis) - trivial) / (np.mean(twin_, axis=axis) - trivial)

    if np.mean(twin) == trivial:
        return
    summary[retained_key(task, "share")] = float(share(np.array(ternary), np.array(twin)))
    if min(len(ternary), len(twin)) < 2 or np.any(np.isclose(twin, trivial)):
        return
    result = stats.bootstrap((ternary, twin), share, paired=False, vectorized=True, n_resamples=9999,
                             confidence_level=0.95, method="percentile", random_state=seed)
    low, high = result.confidence_interval
    summary[retained_key(task, "low")], summary[retained_key(task, "high")] = float(low), float(high)


def _sparsity_summary(summary: dict, sparsity: dict, role: str, seeds: list[int], arm: str | None = None) -> None:
    """Mean and std over seeds of the sparsity stage's per-run zero percentages (both rules; middle,
    boundary, all), of the middle-minus-boundary difference and of the distance to the Gaussian level;
    and the studied model's share of codes changed since initialisation, where the stage measured it."""
    prefix = arm_prefix(arm)

    def add(metric: str, values: list[float]) -> None:  # per seed too: the sparsity claims t-test the seeds
        key = aggregate_key(role, metric, arm)
        _add(summary, key, values)
        summary[per_seed_key(key)] = values

    for part in ("middle", "boundary", "all"):
        for rule in ("", "twn_"):
            add(f"{rule}zero_pct_{part}", [sparsity[f"{prefix}{role}_seed_{seed}_{rule}zero_pct_{part}"] for seed in seeds])
    add("zero_pct_middle_minus_boundary",
        [sparsity[f"{prefix}{role}_seed_{s}_zero_pct_middle"] - sparsity[f"{prefix}{role}_seed_{s}_zero_pct_boundary"]
         for s in seeds])
    add("zero_pct_all_minus_gaussian",
        [sparsity[f"{prefix}{role}_seed_{s}_zero_pct_all"] - sparsity["gaussian_reference_zero_pct"] for s in seeds])
    changed = [sparsity.get(f"{prefix}{role}_seed_{s}_code_change_fraction") for s in seeds]
    if role == "studied" and None not in changed:  # absent in archives made before the stage measured it
        summary[code_change_key(arm)] = statistics.fmean(changed)


def _bench_name(name: str) -> tuple[str, str, str] | None:
    """(scope, format, metric) of a benchmark measurement's flat name; None for anything else."""
    for scope in BENCH_SCOPES:
        for fmt in sorted(FORMAT_LABELS, key=len, reverse=True):
            head = f"{scope}_{fmt}_"
            if name.startswith(head) and name[len(head):] in UNITS:
                return scope, fmt, name[len(head):]
    return None


def benchmark_metrics(benchmark: dict[str, Any]) -> dict[str, float]:
    """The benchmark's measurements and settings as summary.json holds them. Ratios to FP32 are
    recomputed from the measurements they divide (so an older benchmark.json, which named them
    ``fp32_over_<format>_weights``, reads like a current one); a numeric name that is neither a
    declared setting nor a measurement raises :class:`UndeclaredMetricError`."""
    out = {}
    for name, value in benchmark.items():
        parsed = _bench_name(name)
        if name in BENCH_SETTINGS or (parsed and parsed[2] not in _DERIVED):
            out[name] = value
        elif isinstance(value, (int, float)) and not parsed and not _LEGACY_RATIO.fullmatch(name):
            raise UndeclaredMetricError(f"{name} (metrics/benchmark.json)")
    for scope in ("trained", "paper_arch"):
        for fmt in ("int8", *TERNARY_FORMATS):
            for ratio, base in _DERIVED.items():
                ours, fp32 = out.get(metric_key(scope, fmt, base)), out.get(metric_key(scope, "fp32", base))
                if ours and fp32:
                    out[metric_key(scope, fmt, ratio)] = fp32 / ours if ratio == "weight_reduction" else ours / fp32
    return out


def arms_summary(cfg: Config, root: Path, sparsity: dict) -> dict[str, Any]:
    """Each arm's metrics (mean and std over arms.seeds) beside the main runs' on the same seeds."""
    arms: dict[str, Any] = {}
    for arm in cfg.arms.run:
        roles = cfg.arms.defs[arm].roles
        runs = {role: [read_json(RunPaths.for_run(role, seed, root, arm).metrics) for seed in cfg.arms.seeds]
                for role in roles}
        for role, role_runs in runs.items():
            _role_summary(arms, role_runs, role, arm)
            main = [read_json(RunPaths.for_run(role, seed, root).metrics) for seed in cfg.arms.seeds
                    if seed in cfg.train.seeds]
            if main:
                _role_summary(arms, main, role, arm, beside=True)
            _sparsity_summary(arms, sparsity, role, cfg.arms.seeds, arm)
        if set(roles) == set(ROLES):
            _pair_contrast(arms, runs["studied"], runs["baseline"], arm)
    return arms


def _main_summary(cfg: Config, root: Path, sparsity: dict) -> tuple[dict[str, Any], list[dict]]:
    """The main runs' aggregates (run metrics, training speed, GLUE, sparsity, the contrast, the loss
    curves' shape) and the studied runs' timing.json files (which name the device they trained on)."""
    summary: dict[str, Any] = {}
    runs = {role: [read_json(RunPaths.for_run(role, seed, root).metrics) for seed in cfg.train.seeds] for role in ROLES}
    timings = {role: [read_json(RunPaths.for_run(role, seed, root).timing) for seed in cfg.train.seeds]
               for role in ROLES}
    for role in ROLES:
        _role_summary(summary, runs[role], role)
        _add(summary, aggregate_key(role, "tokens_per_second"), [run["tokens_per_second"] for run in timings[role]])
        _sparsity_summary(summary, sparsity, role, cfg.train.seeds)
    _pair_contrast(summary, runs["studied"], runs["baseline"])
    summary |= glue_summary(cfg, root)
    curves = [pd.read_csv(RunPaths.for_run(role, seed, root).loss_curve, sep="\t")["loss"]
              for role in ROLES for seed in cfg.train.seeds]
    summary["max_loss_rise_between_tenths"] = max_loss_rise(curves)
    summary["min_loss_fall_nats"] = min_loss_fall(curves)
    return summary, timings["studied"]


def pricing(cfg: Config, summary: dict[str, Any], timings: list[dict]) -> Pricing:
    """What prices the untested claims: this run's params, corpus and measured training speed."""
    speeds = [summary[aggregate_key(role, "tokens_per_second")] for role in ROLES]
    return Pricing(cfg, summary["train_tokens"], summary["vocab_size"], statistics.fmean(speeds),
                   timings[0].get("device", "this CPU"))


def _matched_loss_summary(summary: dict, arms: dict, epochs: pd.DataFrame, max_train_loss: float) -> None:
    """The contrast at matched training loss (``pipeline/analysis/regimes.py``) of the main runs and of
    every arm with both models, where some point can be matched."""
    for run_set, result in matched_gap_by_run_set(matched_val_gaps(epochs, max_train_loss)).items():
        target, key = (summary, "matched_val_gap") if run_set == "main" else (arms, f"{arm_prefix(run_set)}matched_val_gap")
        _add(target, key, result["per_seed"])
        target[per_seed_key(key)] = result["per_seed"]
        target[f"{key}_points"], target[f"{key}_ternary_lower"] = result["points"], result["ternary_lower"]


def summarize(cfg: Config, root: Path, tokens_dir: Path, benchmark_path: Path, sparsity_path: Path,
              basis: Basis = Basis.THIS_RUN) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(summary, arms, claims) of the runs the params name, under ``root``; the corpus's token arrays
    and counts in ``tokens_dir`` (the tokenize stage's ``data/tokens``). ``basis`` says what the claims
    rest on: this run, or an archived one re-judged."""
    tokens, sparsity = read_json(tokens_dir / "tokens.json"), read_json(sparsity_path)
    benchmark = read_json(benchmark_path)
    summary: dict[str, Any] = {
        "data_source": tokens["data_source"], "n_seeds": len(cfg.train.seeds), "seeds": list(cfg.train.seeds),
        "glue_seeds": cfg.glue_seeds,
        "studied_quant": cfg.model.quant, "train_tokens": tokens["train_tokens"], "val_tokens": tokens["val_tokens"],
        "vocab_size": tokens["vocab_size"], "unigram_val_nats": unigram_val_nats(tokens_dir, tokens["vocab_size"]),
        "gaussian_reference_zero_pct": sparsity["gaussian_reference_zero_pct"]}
    main, timings = _main_summary(cfg, root, sparsity)
    summary |= main | benchmark_metrics(benchmark)
    arms = arms_summary(cfg, root, sparsity)
    _matched_loss_summary(summary, arms, epoch_curves_table(cfg, root), cfg.claims.matched_loss_max_nats)
    context = run_context(cfg, tokens, benchmark)
    summary.update({f"run_{key}": value for key, value in context.items()})
    check_written(summary, MetricsFile.SUMMARY, cfg.glue.tasks)
    check_written(arms, MetricsFile.ARMS)
    claims = build_claims({**summary, **arms}, context, cfg.claims, pricing(cfg, summary, timings), basis)
    return summary, arms, claims


def regime_map(cfg: Config, root: Path, epochs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The regime map of the regularization contrast (``pipeline/analysis/regimes.py``): one row per
    pair of run sets the params train (main runs and every arm with both models), and its figure's
    data, the contrast against the FP32 twin's ratio per epoch."""
    cell_list = cells(cfg)
    runs: dict[str, dict[str, list[dict]]] = {}
    for arm, roles, seeds in _run_sets(cfg):
        runs[arm or "main"] = {role: [read_json(RunPaths.for_run(role, seed, root, arm).metrics) for seed in seeds]
                               for role in roles}
    gaps = matched_val_gaps(epochs, cfg.claims.matched_loss_max_nats)
    return regime_table(cell_list, runs, gaps, cfg.claims), regime_curves(epochs, cell_list)


def glue_table(cfg: Config, summary: dict[str, Any]) -> pd.DataFrame:
    """Headline GLUE metric per task and role (mean over seeds) and the constant predictor, for a bar plot."""
    rows = []
    for task in cfg.glue.tasks:
        metric = HEADLINE_METRIC[task]
        rows += [{"run": f"{task} {role}", "score": summary[aggregate_key(role, glue_metric(task, metric))]}
                 for role in ROLES]
        rows.append({"run": f"{task} constant predictor",
                     "score": summary[aggregate_key("baseline", glue_metric(task, f"trivial_{metric}"))]})
    return pd.DataFrame(rows)
