"""The report: gather what the stages wrote into tables, execute the report notebook with papermill,
strip volatile metadata, render HTML with nbconvert.

The notebook computes nothing a stage should own; it calls :func:`load_inputs` and the figure
functions and displays the results. Re-running on unchanged inputs gives identical files.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from pipeline.config import Config
from pipeline.io import read_json, write_text
from pipeline.layout import ROLES, RunPaths

DEFINITIONS = """
* **Perplexity** = exp(mean negative log-likelihood per predicted token) on held-out text, in eval
  mode (no dropout), without label smoothing. The notebook's figure, exp(label-smoothed loss), is
  reported beside it as `*_ppl_smoothed`.
* **Train/val ratio** = validation perplexity / training perplexity at the end of training, both
  measured the same way on equal token counts (`train.eval_tokens`; training windows spread evenly
  over the training stream). The loss ratio is recorded too.
* **Seed spread** = sample standard deviation (n - 1) over the seeds in `train.seeds`.
* **Weight memory** (MB = 10^6 bytes): exact bytes of the tensors each format keeps resident
  (fp32 twin; PyTorch dynamic int8; packed ternary at 2 bits per block weight + one fp32 scale per
  tensor, embedding and head in `benchmark.head_dtype`, norms fp32).
* **Peak inference memory**: highest RSS of a fresh process during a batch-1 forward over one
  sequence, minus the RSS of the loaded runtime (interpreter, torch, kernel); on CUDA
  `torch.cuda.max_memory_allocated`.
* **Latency**: batch-1 greedy decoding with a KV cache, ms per generated token after the prefill
  (median and IQR over repeats after a warm-up, `torch.utils.benchmark`), all formats timed in one
  process, one after another.
* **Sparsity**: fraction of ternary codes equal to 0, per layer and module; middle layers are those
  whose relative depth l/L lies in `sparsity.middle_band` (L5-L9 of 12), boundary = the others.
"""

DEVIATIONS = """
| topic | paper text | released notebook | this pipeline | consequence |
|---|---|---|---|---|
| schedule | cosine, peak 1e-3, 1k warm-up | OneCycle, 3e-4, 10% warm-up | both, as profiles `paper-text` / `paper-code` | numbers are tied to a named recipe |
| batch | 64 x 512 tokens | 32 x 128 tokens | profile-dependent | |
| OneCycle momentum | - | torch default would cycle beta1 0.85-0.95 | `cycle_momentum=False`: betas (0.9, 0.98) hold | stated betas are the ones used |
| "perplexity" | - | exp(label-smoothed loss) | exp(plain NLL), smoothed figure kept beside it | ours is lower for the same model |
| FP16/FP32 baseline | "identical architecture" | no causal mask, learned positions | exact FP32 twin (same code, `quant=fp32`), always causal | a fair baseline; generalization gap not comparable to the notebook's |
| ternary init | - | std 1.0 on ternary layers (missed by `_init_weights`) | `model.arch.block_init_std`, default 0.02 | stated per run |
| LM windows | - | per-story sequences of 128 | stories joined with `[SEP]`, cut into windows of `seq_len` | no padding tokens in the loss |
| memory | 498 vs 1197 MB | FP32 latent weights only | weight bytes per format, computed exactly | 1197 MB exceeds 132M x 4 B = 528 MB: the paper's figure includes more than weights |
| memory baseline | v2 abstract: "an FP32 model of identical architecture" | README table: "BERT-Base FP32" 1197 MB, "BERT-Base INT8" 612 MB | the FP32 twin of our model | the 1197/612 MB rows may describe a different model |
| reported "perplexity" | 58.42 (abstract) | last-epoch training loss 4.0799 (label-smoothed), exp = 59.1 | validation NLL without smoothing | 58.42 is close to exp(label-smoothed *training* loss) |
| latency | "comparable" / "parity" (abstracts) | README table, device not stated | CPU (and CUDA when present), batch 1, KV cache | absolute ms/token are device-bound |
| where numbers appear | SST-2, CoLA, INT8, latencies | README tables only, not the abstracts | claims table cites the source of each | |
"""


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
    stage_names = ["data", "tokenize"] + [f"glue_{r}_seed_{s}" for r in ROLES for s in cfg.train.seeds] + \
        ["benchmark", "sparsity"]
    seconds = [{"stage": f"train_{row['role']}_seed_{row['seed']}", "seconds": row["train_seconds"]} for row in timing]
    seconds += [{"stage": name, "seconds": read_json(root / "metrics" / "timing" / f"{name}.json")["seconds"]}
                for name in stage_names]
    return ReportInputs(
        claims=pd.DataFrame(read_json(root / "reports" / "claims.json")), summary=read_json(root / "metrics" / "summary.json"),
        curves=pd.concat(curves, ignore_index=True), ppl=pd.DataFrame(ppl), glue=pd.DataFrame(glue),
        layers=pd.read_csv(root / "metrics" / "sparsity_layers.csv"), sparsity=read_json(root / "metrics" / "sparsity.json"),
        benchmark=read_json(root / "metrics" / "benchmark.json"), data=read_json(root / "metrics" / "data.json"),
        tokens=read_json(root / "metrics" / "tokens.json"), timing=pd.DataFrame(timing),
        stage_seconds=pd.DataFrame(seconds))


def mean_std_table(frame: pd.DataFrame, by: list[str], columns: list[str]) -> pd.DataFrame:
    """"mean ± std" strings per group (sample std over seeds, as everywhere in the report) and the
    seed count."""
    grouped = frame.groupby(by)[columns]
    mean, std = grouped.mean(), grouped.std(ddof=1)
    table = pd.DataFrame(index=mean.index)
    for column in columns:
        table[column] = [f"{m:.4g} ± {s:.2g}" if pd.notna(s) else f"{m:.4g}" for m, s in zip(mean[column], std[column])]
    table["seeds"] = grouped.size()
    return table


def efficiency_table(bench: dict) -> pd.DataFrame:
    """One row per (scope, format) from metrics/benchmark.json: memory, file size and latency."""
    rows = []
    for scope in ("trained", "paper_arch"):
        for fmt in ("fp32", "int8", "ternary_packed"):
            if f"{scope}_{fmt}_weights_mb" not in bench:
                continue
            rows.append({
                "model": "trained checkpoints" if scope == "trained" else "paper 132M architecture", "format": fmt,
                "weights MB": bench[f"{scope}_{fmt}_weights_mb"],
                "x smaller than fp32": bench[f"{scope}_fp32_weights_mb"] / bench[f"{scope}_{fmt}_weights_mb"],
                "peak inference MB": bench[f"{scope}_{fmt}_peak_mb"],
                "ms/token": bench[f"{scope}_{fmt}_ms_per_token"], "IQR": bench[f"{scope}_{fmt}_ms_per_token_iqr"],
                "vs fp32": bench[f"{scope}_{fmt}_ms_per_token"] / bench[f"{scope}_fp32_ms_per_token"],
                "prefill ms": bench[f"{scope}_{fmt}_prefill_ms"],
                "file MB (2-bit / base-3)": (f"{bench[f'{scope}_ternary_2bit_file_mb']:.2f} / "  # noqa: E501
                                             f"{bench[f'{scope}_ternary_base3_file_mb']:.2f}" if fmt == "ternary_packed"
                                             else (f"{bench[f'{scope}_fp32_file_mb']:.2f}" if fmt == "fp32" else "")),
            })
            for device_fmt in ("fp32", "ternary_dense"):
                key = f"{scope}_cuda_{device_fmt}_ms_per_token"
                if fmt == "fp32" and key in bench:
                    rows.append({"model": rows[-1]["model"], "format": f"CUDA {device_fmt}",
                                 "peak inference MB": bench[f"{scope}_cuda_{device_fmt}_peak_mb"],
                                 "ms/token": bench[key], "IQR": bench[f"{scope}_cuda_{device_fmt}_ms_per_token_iqr"],
                                 "prefill ms": bench[f"{scope}_cuda_{device_fmt}_prefill_ms"]})
    return pd.DataFrame(rows)


def archived_runs(root: Path = Path(".")) -> list[tuple[dict, pd.DataFrame]]:
    """Runs kept under ``results/<name>/`` (see pipeline/archive.py): their description and claims."""
    runs = []
    for meta_path in sorted((root / "results").glob("*/archive.json")):
        claims = pd.DataFrame(read_json(meta_path.parent / "reports" / "claims.json"))
        runs.append((read_json(meta_path), claims))
    return runs


def scale_banner(summary: dict) -> str:
    """The label every report starts with: what kind of evidence this run is."""
    if not summary.get("run_real_data"):
        return ("**Synthetic data.** Every number below comes from the embedded synthetic corpus and a small model. "
                "It exercises the pipeline; it is not evidence for or against the paper, and every verdict is "
                "`not comparable`.")
    if not (summary.get("run_paper_model") and summary.get("run_paper_training")):
        return ("**Small-scale run on real data.** TinyStories and GLUE are real, but the model and/or training are "
                "smaller than the paper's, so model-quality verdicts are `not comparable`; the `indicative` column "
                "shows what the tolerance rule gives on these measurements.")
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
