"""The report: gather what the stages wrote into tables, execute the report notebook with papermill,
strip volatile metadata, render HTML with nbconvert.

The notebook computes nothing a stage should own; it calls :func:`load_inputs` and the figure
functions and displays the results. Re-running on unchanged inputs gives identical files.

Longer than the ~300 lines STYLE.md suggests: one small function per table the notebook shows
(verdicts, evidence, efficiency, peers, arms, GLUE), each a few lines of pandas, plus the
definitions and deviations the report quotes; they share the loaders and the formatting helpers.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from pipeline.analysis.claims import GLUE_CLAIM_ID
from pipeline.config import Config
from pipeline.io import read_json, write_text
from pipeline.layout import ROLES, Outputs, RunPaths
from pipeline.metrics import HEADLINE_METRIC
from pipeline.paper import PAPER_PARAMETERS, README_BERT_BASE_GLUE, REPORTED as R
from pipeline.analysis.runsets import mean_std

DEFINITIONS = f"""
* **Perplexity (ours)** = exp(mean negative log-likelihood per predicted token) on held-out text, in
  eval mode (no dropout), without label smoothing (`*_val_ppl`).
* **Perplexity (the notebook's)** = exp(label-smoothed cross-entropy), smoothing `train.label_smoothing`
  (`*_val_ppl_smoothed`). The paper's {R['val_ppl']} is judged on this definition, ours is shown beside it;
  on one model the two differ by a large factor.
* **Train/val ratio** = validation perplexity / training perplexity at the end of training, both
  measured the same way on equal token counts (`train.eval_tokens`; training sequences spread evenly
  over the training set). The loss ratio is recorded too.
* **Regularization contrast** = FP32 twin's ratio minus the ternary model's, paired by seed; the gap
  share = that difference / (twin's ratio - 1).
* **Seed spread** = sample standard deviation (n - 1) over the seeds in `train.seeds`; standard
  error = std / sqrt(n).
* **Constant predictor** (GLUE) = the best score any constant prediction reaches on the dev set
  (accuracy: the majority rate; MRPC F1: always "paraphrase"; MCC: 0). Transfer share = (ternary -
  constant) / (FP32 twin - constant).
* **Weight memory** (MB = 10^6 bytes): exact bytes of the tensors each format keeps resident.
  Under the paper's conditions (`ternary_pytorch`): block layers at 2 bits per weight + one fp32
  scale per tensor, embedding, head and norms in fp32. Our packed model (`ternary_packed`) keeps the
  embedding and head in `benchmark.head_dtype`.
* **Peak inference memory**: highest RSS of a fresh process during a batch-1 forward over one
  sequence, minus the RSS of the loaded runtime (interpreter, torch, kernel); on CUDA
  `torch.cuda.max_memory_allocated`.
* **Latency**: batch-1 greedy decoding with a KV cache, ms per generated token after the prefill
  (median and IQR over repeats after a warm-up, `torch.utils.benchmark`), all formats timed in one
  process, one after another. `ternary_pytorch` (no custom kernel) and `ternary_fakequant` (the
  released code's FP32 latent weights, quantized on every call) are timed on 8 tokens x 3 repeats.
* **Sparsity**: fraction of ternary codes round(w / mean|w|) equal to 0, per layer and module; a
  Gaussian weight gives 31.0%. Beside it, the TWN threshold |w| < 0.7 mean|w| (42.4% for a
  Gaussian). Middle layers: relative depth l/L in `sparsity.middle_band` (L5-L9 of 12).
"""

DEVIATIONS = f"""
| topic | paper text | released notebook | this pipeline | consequence |
|---|---|---|---|---|
| schedule | cosine, peak 1e-3, 1k warm-up | OneCycle, 3e-4, 10% warm-up | both, as profiles `paper-text` / `paper-code` | numbers are tied to a named recipe |
| batch | 64 x 512 tokens | 32 x 128 tokens | profile-dependent | |
| OneCycle momentum | - | torch's default cycles beta1 0.85-0.95 | `train.cycle_momentum`: on in `paper-code`, off elsewhere (betas hold) | stated per profile |
| sequences | - | one 128-token sequence per story, padded | `train.sequences`: `per_story` in `paper-code` (padding excluded from the loss), `stream` windows elsewhere | ~1,875 vs ~3,160 steps per epoch at the paper's scale |
| "perplexity" | {R['val_ppl']} | exp(label-smoothed loss) | both: `val_ppl_smoothed` (judged against {R['val_ppl']}) and true `val_ppl` beside it | like for like |
| reported {R['val_ppl']} | abstract | log: validation loss 4.1746 (exp = 65.02), last training loss 4.0799 (exp = 59.1) | validation, smoothed | {R['val_ppl']} is nearest to exp(smoothed *training* loss) |
| FP32/FP16 baseline | "identical architecture" | no causal mask, learned positions | `model.baseline`: the exact FP32 twin by default; the notebook's in `paper-code` and the `maskless_baseline` arm | a maskless model sees the next token |
| ternary init | - | std 1.0 on ternary layers (missed by `_init_weights`), 0.02 elsewhere | `model.init_std` per role: 0.02 by default, 1.0 in `paper-code` and the `notebook_init` arm | `paper-code-fixed` shows the cost |
| memory | {R['memory_ternary_mb']:g} vs {R['memory_fp32_mb']:g} MB | FP32 latent weights only | weight bytes under the paper's conditions (fp32 embedding/head), computed exactly | {R['memory_fp32_mb']:g} MB exceeds 132M x 4 B = {PAPER_PARAMETERS * 4 / 1e6:.0f} MB: the paper's figure includes more than weights |
| memory baseline | v2 abstract: "an FP32 model of identical architecture" | README table: "BERT-Base FP32" {R['memory_fp32_mb']:g} MB, "BERT-Base INT8" {R['memory_int8_mb']:g} MB | the FP32 twin of our model | the {R['memory_fp32_mb']:g}/{R['memory_int8_mb']:g} MB rows may describe a different model |
| latency | "comparable" / "parity", no custom kernels | README table, device not stated | parity judged on the packed model without custom kernels; our C++ kernel and the fake-quantized setup beside it | absolute ms/token are device-bound |
| where numbers appear | SST-2, CoLA, INT8, latencies | README tables only, not the abstracts | claims table cites the source of each | |
"""

VERDICT_ORDER = {"reproduced": 0, "not reproduced": 0, "uninformative": 1, "not testable here": 2, "not comparable": 3}
SCALE_ORDER = {"paper scale": 0, "architecture benchmark (132M shapes)": 1, "published figures": 1}


def _scale_rank(tested_at: str) -> int:
    """Paper scale first, then architecture and published figures, then real data, then synthetic."""
    return SCALE_ORDER.get(tested_at, 2 if "real data" in tested_at else 3)
STUDY_ARCHIVE = "cpu-study"


@dataclass(frozen=True)
class ReportInputs:
    claims: pd.DataFrame
    summary: dict
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


def load_inputs(cfg: Config, root: Path = Path(".")) -> ReportInputs:
    """Everything the report shows, read from stage outputs for exactly the seeds in the params."""
    curves, ppl, glue, timing = [], [], [], []
    for role in ROLES:
        for seed in cfg.train.seeds:
            paths = RunPaths.for_run(role, seed, root)
            loss = pd.read_csv(paths.loss_curve, sep="\t")
            curves.append(loss[["step", "loss"]].assign(role=role, seed=seed))
            ppl.append({"role": role, "seed": seed, **read_json(paths.metrics)})
            for task, scores in read_json(paths.glue).items():
                glue.append({"role": role, "seed": seed, "task": task, **scores})
            timing.append({"role": role, "seed": seed, **read_json(paths.timing)})
    stage_names = ["prepare", "tokenize"] + [f"glue_{r}_seed_{s}" for r in ROLES for s in cfg.train.seeds] + \
        ["benchmark", "sparsity"]
    seconds = [{"stage": f"train_{row['role']}_seed_{row['seed']}", "seconds": row["train_seconds"]} for row in timing]
    outputs = Outputs(root)
    seconds += [{"stage": name, "seconds": read_json(outputs.timing(name))["seconds"]} for name in stage_names]
    return ReportInputs(
        claims=pd.DataFrame(read_json(outputs.claims)), summary=read_json(outputs.metrics("summary")),
        curves=pd.concat(curves, ignore_index=True), ppl=pd.DataFrame(ppl), glue=pd.DataFrame(glue),
        layers=_main_layers(pd.read_csv(outputs.sparsity_layers)), sparsity=read_json(outputs.metrics("sparsity")),
        benchmark=read_json(outputs.metrics("benchmark")), bench_table=pd.read_csv(outputs.benchmark_table),
        data=read_json(outputs.metrics("data")), tokens=read_json(outputs.metrics("tokens")),
        timing=pd.DataFrame(timing), stage_seconds=pd.DataFrame(seconds))


def mean_std_table(frame: pd.DataFrame, by: list[str], columns: list[str]) -> pd.DataFrame:
    """"mean ± std" strings per group (sample std over seeds, as everywhere in the report) and the
    seed count."""
    grouped = frame.groupby(by)
    table = pd.DataFrame(index=grouped.size().index)
    for column in columns:
        spread = grouped[column].agg(lambda values: mean_std(values.dropna()) if values.notna().any()
                                       else (float("nan"), float("nan")))
        table[column] = [f"{m:.4g} ± {s:.2g}" if pd.notna(s) else f"{m:.4g}" for m, s in spread]
    table["seeds"] = grouped.size()
    return table


def _main_layers(layers: pd.DataFrame) -> pd.DataFrame:
    return layers[layers["arm"] == "main"] if "arm" in layers else layers


EFFICIENCY_FORMATS = {
    "fp32": "FP32 twin",
    "int8": "INT8 (PyTorch dynamic)",
    "ternary_pytorch": "packed ternary, fp32 embedding/head, pure PyTorch (the paper's conditions)",
    "ternary_packed": "packed ternary, C++ kernel (ours)",
    "ternary_fakequant": "FP32 latent weights fake-quantized per call (the released code)",
}


def efficiency_table(bench_table: pd.DataFrame) -> pd.DataFrame:
    """One row per (scope, format) of the benchmark's tidy table: memory, file size and latency."""
    wide = bench_table.pivot_table(index=["scope", "format"], columns="metric", values="value", aggfunc="first")
    rows = []
    for scope, model in (("trained", "trained checkpoints"), ("paper_arch", "paper 132M architecture")):
        for fmt, label in EFFICIENCY_FORMATS.items():
            if (scope, fmt) not in wide.index:
                continue
            row, fp32 = wide.loc[(scope, fmt)], wide.loc[(scope, "fp32")]
            files = {"fp32": f"{fp32['file_mb']:.2f}"}
            if (scope, "ternary_2bit") in wide.index:
                files["ternary_packed"] = (f"{wide.loc[(scope, 'ternary_2bit'), 'file_mb']:.2f} (2-bit) / "
                                           f"{wide.loc[(scope, 'ternary_base3'), 'file_mb']:.2f} (base-3)")
            rows.append({"model": model, "format": label, "weights MB": row["weights_mb"],
                         "x smaller than fp32": fp32["weights_mb"] / row["weights_mb"],
                         "peak inference MB": row["peak_mb"], "ms/token": row["ms_per_token"],
                         "IQR": row["ms_per_token_iqr"], "vs fp32": row["ms_per_token"] / fp32["ms_per_token"],
                         "file MB": files.get(fmt, "")})
            for device_fmt in ("cuda_fp32", "cuda_ternary_dense"):
                if fmt == "fp32" and (scope, device_fmt) in wide.index:
                    cuda = wide.loc[(scope, device_fmt)]
                    rows.append({"model": model, "format": device_fmt.replace("_", " ", 1).replace("cuda", "CUDA"),
                                 "peak inference MB": cuda["peak_mb"], "ms/token": cuda["ms_per_token"],
                                 "IQR": cuda["ms_per_token_iqr"]})
    return pd.DataFrame(rows)


PEER_FORMATS = {
    "ours_fp32": "ours: FP32 twin (PyTorch eager)",
    "ours_packed": "ours: packed ternary, C++ kernel",
    "llamacpp_f32": "llama.cpp: F32",
    "llamacpp_tq2_0": "llama.cpp: TQ2_0",
    "llamacpp_tq1_0": "llama.cpp: TQ1_0",
}


def peer_table(bench_table: pd.DataFrame) -> pd.DataFrame:
    """Decode speed of our formats and llama.cpp's (pipeline/bench/peer.py), one run, interleaved rounds:
    medians, spread, and the speed-up over each FP32 implementation. Empty without the peer rows."""
    peer = bench_table[bench_table["scope"] == "peer"]
    if not len(peer):
        return pd.DataFrame()
    wide = peer.pivot_table(index="format", columns="metric", values="value", aggfunc="first")
    rows = []
    for fmt, label in PEER_FORMATS.items():
        if fmt in wide.index:
            row = wide.loc[fmt]
            rows.append({"format": label, "ms/token (median)": row["ms_per_token"], "IQR": row["ms_per_token_iqr"],
                         "min": row["ms_per_token_min"], "vs llama.cpp TQ2_0": row["latency_over_llamacpp_tq2_0"],
                         "x faster than our FP32": wide.loc["ours_fp32", "ms_per_token"] / row["ms_per_token"],
                         "x faster than llama.cpp F32": wide.loc["llamacpp_f32", "ms_per_token"] / row["ms_per_token"]})
    return pd.DataFrame(rows)


def machine_note(bench: dict) -> str:
    """Whether the benchmark ran on an idle machine, in words."""
    before, after = bench.get("cpu_busy_before"), bench.get("cpu_busy_after")
    if before is None:
        return "CPU load was not sampled (no /proc/stat)."
    state = "idle" if bench.get("machine_idle") else "**busy: other work shared the cores; treat timings as upper bounds**"
    return f"Machine {state} (other work used {before:.0%} of the CPU before timing, {after:.0%} after)."


def value_text(value, std=None, n=None) -> str:
    """``58.4 ± 0.17 (n=3)``; ``n/a`` when there is no value."""
    if value is None or pd.isna(value):
        return "n/a"
    text = f"{value:.4g}"
    if std is not None and pd.notna(std):
        text += f" ± {std:.2g}"
    if n is not None and pd.notna(n):
        text += f" (n={int(n)})"
    return text


def paper_text(value) -> str:
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return "-"
    return f"{value[0]:g}-{value[1]:g}" if isinstance(value, (list, tuple)) else f"{value:g}"


def reported_glue() -> pd.DataFrame:
    """The paper's GLUE figures (x 100) beside the README's BERT-Base row, for reference."""
    return pd.DataFrame([{"task": task, "metric": metric, "TernaryLM (paper)": paper_text(R[GLUE_CLAIM_ID[task]]),
                          "BERT-Base (paper README)": README_BERT_BASE_GLUE[task]}
                         for task, metric in HEADLINE_METRIC.items()])


@dataclass(frozen=True)
class EvidenceSource:
    """One run's claims table: this run, or an archive under results/."""

    name: str
    claims: pd.DataFrame


def evidence_sources(current: pd.DataFrame, root: Path = Path(".")) -> list[EvidenceSource]:
    """This run's claims, then every archive's whose claims table has the current schema (archives
    judged by older rules are listed in the report but not pooled)."""
    return [EvidenceSource("this run", current)] + [EvidenceSource(f"results/{meta['name']}", claims)
                                                    for meta, claims in archived_runs(root) if current_schema(claims)]


def current_schema(claims: pd.DataFrame) -> bool:
    return {"tested_at", "ours_alt", "margin"} <= set(claims.columns)


def verdicts_at_a_glance(sources: list[EvidenceSource]) -> pd.DataFrame:
    """One line per claim: the most decisive evidence among the sources (a decided verdict before
    uninformative before not testable before not comparable; paper scale first), where it comes from,
    the scale it was tested at and why, in words."""
    rows = []
    ids = list(sources[0].claims["id"])
    for claim_id in ids:
        entries = []
        for source in sources:
            match = source.claims[source.claims["id"] == claim_id]
            if len(match):
                entries.append((source.name, match.iloc[0]))
        name, best = min(entries, key=lambda item: (VERDICT_ORDER.get(item[1]["verdict"], 9),
                                                    _scale_rank(item[1].get("tested_at", ""))))
        rows.append({"claim": best["description"], "verdict": best["verdict"],
                     "tested at": f"{best.get('tested_at', '')} [{name}]", "why": best["reason"]})
    return pd.DataFrame(rows)


def shared_reasons(glance: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Say each reason once: a reason shared by several claims becomes a note key ([A], [B], ...)."""
    counts = glance["why"].value_counts()
    repeated = [reason for reason in glance["why"].drop_duplicates() if counts[reason] > 1]
    keys = {reason: f"[{chr(ord('A') + i)}]" for i, reason in enumerate(repeated)}
    short = glance.assign(why=glance["why"].map(lambda reason: keys.get(reason, reason)))
    return short, {key: reason for reason, key in keys.items()}


def claim_details(claims: pd.DataFrame) -> pd.DataFrame:
    """The numbers behind each verdict: paper, ours, what sits beside it, rule and margin."""
    return pd.DataFrame({
        "id": claims["id"], "paper": claims["paper_value"].map(paper_text),
        "ours": [value_text(v, s, n) for v, s, n in zip(claims["ours"], claims["ours_std"], claims["n_seeds"])],
        "beside": [f"{label or 'alt'}: {value_text(v)}" if v is not None and pd.notna(v) else ""
                   for v, label in zip(claims["ours_alt"], claims["alt_label"])],
        "constant predictor": [value_text(v) if v is not None and pd.notna(v) else "" for v in claims["trivial_baseline"]],
        "units": claims["units"], "rule": claims["tolerance"],
        "margin": [f"{m:+.3g}" if m is not None and pd.notna(m) else "" for m in claims["margin"]],
        "verdict": claims["verdict"],
    })


def degenerate_glue_runs(glue: pd.DataFrame) -> pd.DataFrame:
    """Fine-tuned runs whose dev predictions are constant in effect (MCC = 0): degenerate classifiers."""
    return glue[glue["mcc"].abs() < 1e-12][["role", "seed", "task", "accuracy", "f1", "mcc"]]


@dataclass(frozen=True)
class StudyInputs:
    """What an archived CPU study (results/<name>/) holds for the report's evidence section."""

    meta: dict
    claims: pd.DataFrame
    summary: dict
    arms: dict
    epochs: pd.DataFrame
    depth: pd.DataFrame
    sparsity: dict
    params: dict


def load_study(root: Path = Path("."), name: str = STUDY_ARCHIVE) -> StudyInputs | None:
    base = root / "results" / name
    outputs = Outputs(base)
    if not (base / "archive.json").is_file() or not outputs.plot("epoch_curves").is_file():
        return None
    import yaml

    return StudyInputs(meta=read_json(base / "archive.json"), claims=pd.DataFrame(read_json(outputs.claims)),
                       summary=read_json(outputs.metrics("summary")), arms=read_json(outputs.metrics("arms")),
                       epochs=pd.read_csv(outputs.plot("epoch_curves")), depth=pd.read_csv(outputs.plot("sparsity_by_depth")),
                       sparsity=read_json(outputs.metrics("sparsity")),
                       params=yaml.safe_load((base / "params.yaml").read_text()))


def arm_findings(study: StudyInputs) -> list[str]:
    """What each arm shows, in numbers taken from the study's metrics/arms.json."""
    arms, lines = study.arms, []

    def pair(prefix: str, metric: str) -> str:
        value, std = arms.get(f"{prefix}{metric}"), arms.get(f"{prefix}{metric}_std")
        return value_text(value, std)

    for arm in study.params["arms"]["run"]:
        spec = study.params["arms"]["defs"][arm]
        for role in spec["roles"]:
            p, main = f"arm_{arm}_{role}_", f"arm_{arm}_main_{role}_"
            zeros = value_text(arms.get(f"arm_{arm}_{role}_zero_pct_all"), arms.get(f"arm_{arm}_{role}_zero_pct_all_std"))
            lines.append(f"* **{arm}** ({spec['note']}), {role}: val PPL {pair(p, 'val_ppl')} vs main "
                         f"{pair(main, 'val_ppl')}; val/train ratio {pair(p, 'train_val_ratio')} vs main "
                         f"{pair(main, 'train_val_ratio')}; train PPL {pair(p, 'train_ppl')} vs main "
                         f"{pair(main, 'train_ppl')}; zero codes {zeros} (Gaussian 31.0%).")
        if f"arm_{arm}_regularization_contrast" in arms:
            lines.append(f"* **{arm}** contrast (FP32 minus ternary ratio, paired): "
                         f"{value_text(arms[f'arm_{arm}_regularization_contrast'], arms.get(f'arm_{arm}_regularization_contrast_std'))}"
                         f", gap share {arms.get(f'arm_{arm}_regularization_gap_fraction', float('nan')):.2f}.")
    return lines


def archived_runs(root: Path = Path(".")) -> list[tuple[dict, pd.DataFrame]]:
    """Runs kept under ``results/<name>/`` (see pipeline/analysis/archive.py): their description and claims."""
    runs = []
    for meta_path in sorted((root / "results").glob("*/archive.json")):
        claims = pd.DataFrame(read_json(Outputs(meta_path.parent).claims))
        runs.append((read_json(meta_path), claims))
    return runs


def scale_banner(summary: dict) -> str:
    """The label every report starts with: what kind of evidence this run is."""
    if not summary.get("run_real_data"):
        return ("**Synthetic data.** This run's model numbers come from the embedded synthetic corpus and a small model: "
                "they exercise the pipeline and every model-quality verdict of this run is `not comparable`. The "
                "architecture claims (memory, latency) are decided by the 132M-shape benchmark whatever the data, and "
                "the evidence on real data comes from the archived CPU study (`results/cpu-study`), pooled in the "
                "summary below.")
    if not (summary.get("run_paper_model") and summary.get("run_paper_training")):
        return ("**Small-scale run on real data.** TinyStories and GLUE are real, the model and training are smaller "
                "than the paper's: absolute figures are `not comparable`; claims about a direction or a ratio are "
                "judged where their preconditions hold.")
    return "**Paper-scale run on real data.** Verdicts compare directly with the paper's claims."


def provenance(root: Path, params_path: Path) -> dict[str, str]:
    """Git revision, params hash, package versions, platform."""
    try:
        # The commit the outputs were generated on top of (they are usually committed right after,
        # so a "dirty" flag would only say that and make the report depend on git state).
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                  text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        revision = "unknown (not a git checkout)"
    packages = {name: metadata.version(name) for name in ("torch", "dvc", "dvclive", "tokenizers", "datasets",
                                                           "safetensors", "scikit-learn", "papermill")}
    return {"git commit (outputs generated on top of it)": revision,
            "params sha256": hashlib.sha256(params_path.read_bytes()).hexdigest()[:16],
            "python": platform.python_version(), "platform": f"{platform.system()} {platform.machine()}",
            **{f"package {k}": v for k, v in packages.items()}}


def _strip_volatile(notebook) -> None:
    """Remove timestamps and durations that papermill and nbclient record, so bytes are stable."""
    notebook.metadata.pop("papermill", None)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # papermill gives its injected-parameters cell a random id
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
            # Warnings on stderr name local paths and library versions: noise, not report content.
            cell.outputs = [out for out in cell.get("outputs", []) if out.get("name") != "stderr"]
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = None


def render_report(notebook_in: Path, notebook_out: Path, html_out: Path, parameters: dict, cwd: Path) -> None:
    """Execute ``notebook_in`` with ``parameters`` into ``notebook_out`` and render ``html_out``."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    executed = papermill.execute_notebook(str(notebook_in), None, parameters=parameters, cwd=str(cwd),
                                          progress_bar=False, log_output=False, kernel_name="python3")
    _strip_volatile(executed)
    write_text(notebook_out, nbformat.writes(executed) + "\n")
    exporter = HTMLExporter(exclude_input=True)
    body, _ = exporter.from_notebook_node(executed)
    write_text(html_out, body)
