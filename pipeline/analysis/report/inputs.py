"""What the report reads, as typed structures: this run's stage outputs (:func:`load_inputs`), the
runs archived under ``results/`` (:func:`archived_runs`, :func:`evidence_sources`) and the archived
CPU study's evidence (:func:`load_study`).

Paths come from :mod:`pipeline.layout`, aggregate keys from :mod:`pipeline.analysis.runsets`, so a
file the stages write is spelled in one place. Nothing is averaged here: means over seeds are read
from summarize's outputs; the per-seed frames feed the figures and the per-run tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline.analysis.compute import recorded_seconds
from pipeline.analysis.evidence import archive_created
from pipeline.analysis.runsets import (GLUE_METRICS, RUN_METRICS, MeanStd, aggregate_key, arm_prefix, code_change_key,
                                      glue_metric)
from pipeline.config import ROLES, Config
from pipeline.io import read_json
from pipeline.layout import ARCHIVE_META, RUN_SECONDS_KEY, SUPERSEDED_BY, Outputs, RunPaths, list_archives
from pipeline.metrics import HEADLINE_METRIC

STUDY_ARCHIVE = "cpu-study"
REGIME_ARCHIVE = "regime-map"  # the regime map and the notebook pair (profile regime-map, issue 22)
LEAK_ARCHIVE = "leak-attempts"  # the notebook baseline wider or longer (profile leak-attempts, issue 22)
# The maskless baselines whose leak the report reads, as (archive, arm): the notebook pair's, then the
# attempts of profile leak-attempts (each archive's own params.yaml names its arms and seeds); the
# notebook_fixed arm's causal twin stands beside them as the training loss a model without the leak reaches.
LEAK_REFERENCE = (REGIME_ARCHIVE, "notebook_pair")
LEAK_CAUSAL_TWIN = (REGIME_ARCHIVE, "notebook_fixed")
META = ARCHIVE_META
ARM_METRICS = ("val_ppl", "train_val_ratio", "train_ppl", "train_loss")  # what the report compares between an arm and the main runs


@dataclass(frozen=True)
class SeedAggregates:
    """summary.json's means and sample stds over the run's seeds, as summarize wrote them: per role
    (``runs[role][metric]``, the run metrics) and per task and role (``glue[(task, role)][metric]``,
    the GLUE metrics and ``headline``, the task's headline metric)."""

    seeds: int
    runs: dict[str, dict[str, MeanStd]]
    glue: dict[tuple[str, str], dict[str, MeanStd]]


def seed_aggregates(summary: dict[str, Any], tasks: list[str]) -> SeedAggregates:
    """Read the run and GLUE aggregates of every role and task out of ``summary`` (summary.json)."""
    runs = {role: {metric: MeanStd.read(summary, aggregate_key(role, metric)) for metric in RUN_METRICS}
            for role in ROLES}
    glue = {}
    for task in tasks:
        for role in ROLES:
            scores = {metric: MeanStd.read(summary, aggregate_key(role, glue_metric(task, metric)))
                      for metric in GLUE_METRICS}
            glue[(task, role)] = {"headline": scores[HEADLINE_METRIC[task]], **scores}
    return SeedAggregates(seeds=summary["n_seeds"], runs=runs, glue=glue)


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows of this run. ``summary`` is summary.json as written (its ``run_*``
    facts choose the banner); ``aggregates`` its means over seeds, typed. The frames hold one row per
    run (``ppl``, ``glue``, ``timing``), per logged step (``curves``) or per layer and module of the
    main runs (``layers``)."""

    claims: pd.DataFrame
    summary: dict
    aggregates: SeedAggregates
    curves: pd.DataFrame
    ppl: pd.DataFrame
    glue: pd.DataFrame
    layers: pd.DataFrame
    sparsity: dict
    benchmark: dict
    bench_table: pd.DataFrame
    data: dict
    tokens: dict
    timing: pd.DataFrame
    stage_seconds: pd.DataFrame


def _main_runs(cfg: Config, root: Path, seeds: list[int] | None = None) -> list[tuple[str, int, RunPaths]]:
    """(role, seed, paths) of exactly the main runs the params name (or of ``seeds`` of them), role by role."""
    return [(role, seed, RunPaths.for_run(role, seed, root)) for role in ROLES
            for seed in (cfg.train.seeds if seeds is None else seeds)]


def _glue_frame(runs: list[tuple[str, int, RunPaths]]) -> pd.DataFrame:
    """One row per run and task: the run's glue.json scores."""
    return pd.DataFrame([{"role": role, "seed": seed, "task": task, **scores}
                         for role, seed, paths in runs for task, scores in read_json(paths.glue).items()])


UNTIMED_STAGES = ("validate", "summarize", "report")  # stages that write no timing file


def _stage_seconds(cfg: Config, timing: pd.DataFrame, outputs: Outputs, root: Path) -> pd.DataFrame:
    """Wall-clock seconds of every stage of the run, named as ``dvc repro`` names them, in pipeline
    order: the main training runs, the arms' (``train_arm@<arm>-<seed>``, one row per role it trains),
    the GLUE fine-tunes and scratch controls, the stages that record metrics/timing/<stage>.json, and the stages that record none (NaN)."""
    rows = [{"stage": "prepare", "seconds": recorded_seconds(outputs.timing("prepare"))},
            {"stage": "tokenize", "seconds": recorded_seconds(outputs.timing("tokenize"))}]
    rows += [{"stage": f"train_{row.role}@{row.seed}", "seconds": row.train_seconds} for row in timing.itertuples()]
    rows += [{"stage": f"train_arm@{arm}-{seed} ({role})",
              "seconds": recorded_seconds(RunPaths.for_run(role, seed, root, arm).timing, RUN_SECONDS_KEY)}
             for arm in cfg.arms.run for seed in cfg.arms.seeds for role in cfg.arms.defs[arm].roles]
    rows += [{"stage": f"glue_{role}@{seed}", "seconds": recorded_seconds(outputs.timing(f"glue_{role}_seed_{seed}"))}
             for role in ROLES for seed in cfg.glue_seeds]
    rows += [{"stage": f"glue_scratch@{role}-{seed}",
              "seconds": recorded_seconds(outputs.timing(f"glue_scratch_{role}_seed_{seed}"))}
             for role in ROLES for seed in cfg.glue.scratch_seeds]
    rows += [{"stage": name, "seconds": recorded_seconds(outputs.timing(name))}
             for name in ("glue_sweep", "glue_bow", "benchmark", "sparsity", *UNTIMED_STAGES)]
    return pd.DataFrame(rows)


def _main_layers(layers: pd.DataFrame) -> pd.DataFrame:
    """The main runs' rows of the sparsity stage's per-layer table (the arms are the study's)."""
    return layers[layers["arm"] == "main"] if "arm" in layers else layers


def load_inputs(cfg: Config, root: Path = Path(".")) -> ReportInputs:
    """Everything the report shows, read from stage outputs for exactly the seeds in the params."""
    runs, outputs = _main_runs(cfg, root), Outputs(root)
    timing = pd.DataFrame([{"role": role, "seed": seed, **read_json(paths.timing)} for role, seed, paths in runs])
    summary = read_json(outputs.metrics("summary"))
    curves = [pd.read_csv(paths.loss_curve, sep="\t")[["step", "loss"]].assign(role=role, seed=seed)
              for role, seed, paths in runs]
    return ReportInputs(
        claims=pd.DataFrame(read_json(outputs.claims)), summary=summary,
        aggregates=seed_aggregates(summary, cfg.glue.tasks), curves=pd.concat(curves, ignore_index=True),
        ppl=pd.DataFrame([{"role": role, "seed": seed, **read_json(paths.metrics)} for role, seed, paths in runs]),
        glue=_glue_frame(_main_runs(cfg, root, cfg.glue_seeds)), layers=_main_layers(pd.read_csv(outputs.sparsity_layers)),
        sparsity=read_json(outputs.metrics("sparsity")), benchmark=read_json(outputs.metrics("benchmark")),
        bench_table=pd.read_csv(outputs.benchmark_table), data=read_json(outputs.metrics("data")),
        tokens=read_json(outputs.metrics("tokens")), timing=timing,
        stage_seconds=_stage_seconds(cfg, timing, outputs, root))


@dataclass(frozen=True)
class ArchivedRun:
    """One run kept under ``results/<name>/`` (pipeline/analysis/archive.py): its archive.json and
    its claims table."""

    name: str
    profile: str
    data_source: str
    seeds: list[int]
    note: str
    claims: pd.DataFrame
    created: float = 0.0  # POSIX seconds (pipeline.analysis.evidence.archive_created): ties go to the newest
    superseded_by: str | None = None  # the archive that re-ran this study (archive --retire-as)


def archived_runs(root: Path = Path(".")) -> list[ArchivedRun]:
    """The runs archived under ``root/results`` (:func:`pipeline.layout.list_archives`): description and claims."""
    runs = []
    for folder in list_archives(root / "results"):
        meta = read_json(folder / META)
        if meta.get("complete") is False:  # a study still running (archive --partial): nothing to pool yet
            continue
        runs.append(ArchivedRun(name=meta["name"], profile=meta["profile"], data_source=meta["data_source"],
                                seeds=meta["seeds"], note=meta["note"],
                                claims=pd.DataFrame(read_json(Outputs(folder).claims)), created=archive_created(folder),
                                superseded_by=meta.get(SUPERSEDED_BY)))
    return runs


def current_schema(claims: pd.DataFrame) -> bool:
    """Whether a claims table was judged by the current rules (it has their columns); older archives
    are listed in the report but not pooled."""
    return {"tested_at", "ours_alt", "margin"} <= set(claims.columns)


def pooled_runs(runs: list[ArchivedRun]) -> list[ArchivedRun]:
    """The archives whose verdicts the report pools: judged by the current rules, and not superseded by a
    re-run that is itself in ``runs`` (complete); the others are listed, not pooled. A superseded study
    whose re-run has not landed yet is still pooled, so retiring it first never leaves the report without it."""
    complete = {run.name for run in runs}
    return [run for run in runs if current_schema(run.claims) and run.superseded_by not in complete]


@dataclass(frozen=True)
class EvidenceSource:
    """One run's claims table: this run, or an archive under results/ (``created``: when; this run is
    newest), with the params it ran with (raw: its epochs, arms and ``claims`` thresholds)."""

    name: str
    claims: pd.DataFrame
    created: float = math.inf
    params: dict = field(default_factory=dict)


def _archive_params(root: Path, name: str) -> dict:
    """An archive's params.yaml as written; empty where it kept none."""
    path = root / "results" / name / "params.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}


def evidence_sources(current: pd.DataFrame, root: Path = Path("."), params: dict | None = None) -> list[EvidenceSource]:
    """This run's claims (with its ``params``), then every pooled archive's (:func:`pooled_runs`)."""
    return [EvidenceSource("this run", current, params=params or {})] + [
        EvidenceSource(f"results/{run.name}", run.claims, run.created, _archive_params(root, run.name))
        for run in pooled_runs(archived_runs(root))]


@dataclass(frozen=True)
class ArmRole:
    """One role of an arm beside the main runs on the arm's seeds (arms.json): ``arm`` and ``main``
    map each of :data:`ARM_METRICS` to its aggregate; ``zero_pct`` is the arm's zero-code percentage."""

    role: str
    arm: dict[str, MeanStd]
    main: dict[str, MeanStd]
    zero_pct: MeanStd
    leak_nats: MeanStd = MeanStd(None, None)  # the leak probe, for a baseline trained without the causal mask
    code_change: float | None = None  # share of the ternary model's codes changed since init (mean over seeds)


@dataclass(frozen=True)
class ArmResult:
    """What one arm of the study measured: each role it trained and, where it trained both roles,
    the paired regularization contrast (FP32 minus ternary val/train ratio) and its gap share."""

    name: str
    roles: list[ArmRole]
    contrast: MeanStd | None
    gap_fraction: float


def _arm_role(arms: dict[str, Any], arm: str, role: str) -> ArmRole:
    """One role of ``arm`` and the main runs beside it, from arms.json; absent aggregates stay empty."""
    return ArmRole(role=role,
                   arm={metric: MeanStd.get(arms, aggregate_key(role, metric, arm)) for metric in ARM_METRICS},
                   main={metric: MeanStd.get(arms, aggregate_key(role, metric, arm, beside=True))
                         for metric in ARM_METRICS},
                   zero_pct=MeanStd.get(arms, aggregate_key(role, "zero_pct_all", arm)),
                   leak_nats=MeanStd.get(arms, aggregate_key(role, "leak_nats", arm)),
                   code_change=arms.get(code_change_key(arm)) if role == "studied" else None)


def arm_results(params: dict, arms: dict[str, Any]) -> list[ArmResult]:
    """The arms the study's ``params`` ran, in order, read from its arms.json (``arms``)."""
    results = []
    for name in params["arms"]["run"]:
        spec, contrast = params["arms"]["defs"][name], f"{arm_prefix(name)}regularization_contrast"
        gap = arms.get(f"{arm_prefix(name)}regularization_gap_fraction")
        results.append(ArmResult(
            name=name, roles=[_arm_role(arms, name, role) for role in spec["roles"]],
            contrast=MeanStd.read(arms, contrast) if contrast in arms else None,
            gap_fraction=float("nan") if gap is None else gap))
    return results


@dataclass(frozen=True)
class StudyInputs:
    """What an archived CPU study (results/<name>/) holds for the report's evidence section: its
    archive.json (``meta``), claims, summary.json and arms.json as written, the per-epoch curves and
    per-depth sparsity plot tables, sparsity.json, params.yaml, and its arms typed (``arm_results``)."""

    meta: dict
    claims: pd.DataFrame
    summary: dict
    arms: dict
    epochs: pd.DataFrame
    depth: pd.DataFrame
    sparsity: dict
    params: dict
    arm_results: list[ArmResult]


def load_study(root: Path = Path("."), name: str = STUDY_ARCHIVE) -> StudyInputs | None:
    """The archived study ``results/<name>``; None when it is absent or predates the epoch curves."""
    base = root / "results" / name
    outputs = Outputs(base)
    if not (base / META).is_file() or not outputs.plot("epoch_curves").is_file():
        return None
    params, arms = yaml.safe_load((base / "params.yaml").read_text()), read_json(outputs.metrics("arms"))
    return StudyInputs(meta=read_json(base / META), claims=pd.DataFrame(read_json(outputs.claims)),
                       summary=read_json(outputs.metrics("summary")), arms=arms,
                       epochs=pd.read_csv(outputs.plot("epoch_curves")),
                       depth=pd.read_csv(outputs.plot("sparsity_by_depth")),
                       sparsity=read_json(outputs.metrics("sparsity")), params=params,
                       arm_results=arm_results(params, arms))


@dataclass(frozen=True)
class RegimeInputs:
    """An archived regime map (results/regime-map/): its archive.json (``meta``), the map's table
    (one row per cell), its figure's per-epoch data and the ternary zero curves; a partial archive
    holds them over the run sets already whole (or only ``meta`` before the main runs finished)."""

    meta: dict
    table: pd.DataFrame | None
    curves: pd.DataFrame | None
    zero_curves: pd.DataFrame | None = None  # the ternary zero percentages per epoch (sparsity over training)
    params: dict | None = None  # the archive's params.yaml: its own thresholds, not the checkout's

    @property
    def provisional(self) -> bool:
        """A partial archive's map, over the run sets whole so far (``archive.json``'s ``provisional_run_sets``)."""
        return not self.meta.get("complete", True)


def load_regime(root: Path = Path("."), name: str = REGIME_ARCHIVE) -> RegimeInputs | None:
    """The archived regime map ``results/<name>``; None when there is none."""
    base = root / "results" / name
    if not (base / META).is_file():
        return None
    outputs = Outputs(base)
    table = pd.read_csv(outputs.regime_map) if outputs.regime_map.is_file() else None
    curves = pd.read_csv(outputs.plot("regime_curves")) if outputs.plot("regime_curves").is_file() else None
    zeros = pd.read_csv(outputs.plot("sparsity_curves")) if outputs.plot("sparsity_curves").is_file() else None
    params = yaml.safe_load((base / "params.yaml").read_text(encoding="utf-8")) if (base / "params.yaml").is_file() \
        else None
    return RegimeInputs(meta=read_json(base / META), table=table, curves=curves, zero_curves=zeros, params=params)


@dataclass(frozen=True)
class BaselineRun:
    """One FP32 baseline of an archived arm, as the leak table reads it: where it ran (``archive``,
    ``arm``, ``seed``), its width and steps, the training loss at its first and last epoch evaluation,
    its final validation loss and, for a baseline trained without the causal mask, the leak probe."""

    archive: str
    arm: str
    seed: int
    width: int
    steps: int
    causal: bool
    first_train_loss: float
    train_loss: float
    val_loss: float
    leak_nats: float | None


def _arm_width(params: dict, arm: str) -> int:
    changes = params["arms"]["defs"][arm]["changes"]
    return int(changes.get("model.arch.dim", params["model"]["arch"]["dim"]))


def _arm_causal(params: dict, arm: str) -> bool:
    changes = params["arms"]["defs"][arm]["changes"]
    return changes.get("model.baseline.attention", params["model"]["baseline"]["attention"]) == "causal"


def archived_baselines(root: Path, archive: str, arm: str) -> list[BaselineRun]:
    """The finished FP32 baselines of ``arm`` in ``results/<archive>`` (a partial archive holds some of
    its seeds, or none); empty when the archive or the arm is absent."""
    base = root / "results" / archive
    if not (base / "params.yaml").is_file():
        return []
    params = yaml.safe_load((base / "params.yaml").read_text(encoding="utf-8"))
    if arm not in params["arms"]["defs"] or "baseline" not in params["arms"]["defs"][arm]["roles"]:
        return []
    runs = []
    for seed in params["arms"]["seeds"]:
        paths = RunPaths.for_run("baseline", seed, base, arm)
        if not paths.metrics.is_file():
            continue
        metrics, curve = read_json(paths.metrics), pd.read_csv(paths.eval_curve("train"), sep="\t")
        runs.append(BaselineRun(archive=archive, arm=arm, seed=seed, width=_arm_width(params, arm),
                                steps=int(metrics["steps"]), causal=_arm_causal(params, arm),
                                first_train_loss=float(curve["train_loss"].iloc[0]),
                                train_loss=float(metrics["train_loss"]), val_loss=float(metrics["val_loss"]),
                                leak_nats=metrics.get("leak_nats")))
    return runs


def leak_runs(root: Path = Path(".")) -> list[BaselineRun]:
    """Every maskless baseline the report judges the leak of (:data:`LEAK_REFERENCE`, then each arm of
    the ``leak-attempts`` archive) and the causal twin beside them (:data:`LEAK_CAUSAL_TWIN`)."""
    runs = archived_baselines(root, *LEAK_REFERENCE) + archived_baselines(root, *LEAK_CAUSAL_TWIN)
    attempts = root / "results" / LEAK_ARCHIVE / "params.yaml"
    if attempts.is_file():
        for arm in yaml.safe_load(attempts.read_text(encoding="utf-8"))["arms"]["run"]:
            runs += archived_baselines(root, LEAK_ARCHIVE, arm)
    return runs
