"""The tables the report notebook displays, built from the loaded inputs (:mod:`.inputs`), and the
formats of their cells. Means over seeds arrive already aggregated (summarize's); what is built
here is selection, ordering, ratios between formats measured in one run, and text."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pipeline.analysis.claims import GLUE_CLAIM_ID
from pipeline.analysis.evidence import Source, decide
from pipeline.analysis.report.inputs import ArmResult, EvidenceSource, SeedAggregates, StudyInputs
from pipeline.analysis.runsets import MeanStd
from pipeline.bench.table import DEVICE_FORMATS, EFFICIENCY_FORMATS, FORMAT_LABELS, PEER_FORMATS
from pipeline.metrics import HEADLINE_METRIC
from pipeline.paper import README_BERT_BASE_GLUE, REPORTED as R

EFFICIENCY_SCOPES = (("trained", "trained checkpoints"), ("paper_arch", "paper 132M architecture"))


def value_text(value: float | None, std: float | None = None, n: int | None = None) -> str:
    """``58.42 ± 0.17 (n=3)``: four significant digits, the spread to two; ``n/a`` when there is no
    value, no spread where there is none (one seed)."""
    if value is None or pd.isna(value):
        return "n/a"
    text = f"{value:.4g}"
    if std is not None and pd.notna(std):
        text += f" ± {std:.2g}"
    if n is not None and pd.notna(n):
        text += f" (n={int(n)})"
    return text


def paper_text(value: float | list[float] | tuple[float, float] | None) -> str:
    """A figure the paper reports: ``58.42``, a range ``60-62``, or ``-`` where it reports none."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return "-"
    return f"{value[0]:g}-{value[1]:g}" if isinstance(value, (list, tuple)) else f"{value:g}"


def mean_std_text(aggregate: MeanStd) -> str:
    """One aggregate as ``mean ± std`` (:func:`value_text`)."""
    return value_text(aggregate.mean, aggregate.std)


def _aggregates_frame(groups: Mapping[tuple[str, ...], Mapping[str, MeanStd]], names: list[str],
                      metrics: list[str], seeds: int) -> pd.DataFrame:
    """``mean ± std`` of ``metrics`` per group, groups in sorted order and indexed by ``names``, with
    the seed count."""
    keys = sorted(groups)
    index = (pd.Index([key[0] for key in keys], name=names[0]) if len(names) == 1
             else pd.MultiIndex.from_tuples(keys, names=names))
    table = pd.DataFrame({metric: [mean_std_text(groups[key][metric]) for key in keys] for metric in metrics},
                         index=index)
    table["seeds"] = seeds
    return table


def run_metrics_table(aggregates: SeedAggregates, metrics: list[str]) -> pd.DataFrame:
    """Perplexities and ratios per role (index ``role``): mean ± sample std over seeds, and the seed count."""
    groups = {(role,): values for role, values in aggregates.runs.items()}
    return _aggregates_frame(groups, ["role"], metrics, aggregates.seeds)


def glue_metrics_table(aggregates: SeedAggregates, metrics: list[str]) -> pd.DataFrame:
    """GLUE dev scores per task and role (index ``task``, ``role``): mean ± sample std over seeds, and
    the seed count."""
    return _aggregates_frame(aggregates.glue, ["task", "role"], metrics, aggregates.seeds)


def _file_sizes(wide: pd.DataFrame, scope: str) -> dict[str, str]:
    """The checkpoint file sizes (MB) shown beside FP32 and our packed format."""
    files = {"fp32": f"{wide.loc[(scope, 'fp32'), 'file_mb']:.2f}"}
    if (scope, "ternary_2bit") in wide.index:
        files["ternary_packed"] = (f"{wide.loc[(scope, 'ternary_2bit'), 'file_mb']:.2f} (2-bit) / "
                                   f"{wide.loc[(scope, 'ternary_base3'), 'file_mb']:.2f} (base-3)")
    return files


def efficiency_table(bench_table: pd.DataFrame) -> pd.DataFrame:
    """One row per (scope, format) of the benchmark's tidy table: memory, file size and latency, and
    each against the scope's FP32 twin; the CUDA rows, where measured, after FP32."""
    wide = bench_table.pivot_table(index=["scope", "format"], columns="metric", values="value", aggfunc="first")
    rows = []
    for scope, model in EFFICIENCY_SCOPES:
        for fmt in EFFICIENCY_FORMATS:
            if (scope, fmt) not in wide.index:
                continue
            row, fp32 = wide.loc[(scope, fmt)], wide.loc[(scope, "fp32")]
            rows.append({"model": model, "format": FORMAT_LABELS[fmt], "weights MB": row["weights_mb"],
                         "x smaller than fp32": fp32["weights_mb"] / row["weights_mb"],
                         "peak inference MB": row["peak_mb"], "ms/token": row["ms_per_token"],
                         "IQR": row["ms_per_token_iqr"], "vs fp32": row["ms_per_token"] / fp32["ms_per_token"],
                         "file MB": _file_sizes(wide, scope).get(fmt, "")})
            for device_fmt in DEVICE_FORMATS:
                if fmt == "fp32" and (scope, device_fmt) in wide.index:
                    cuda = wide.loc[(scope, device_fmt)]
                    rows.append({"model": model, "format": FORMAT_LABELS[device_fmt],
                                 "peak inference MB": cuda["peak_mb"], "ms/token": cuda["ms_per_token"],
                                 "IQR": cuda["ms_per_token_iqr"]})
    return pd.DataFrame(rows)


def peer_table(bench_table: pd.DataFrame) -> pd.DataFrame:
    """Decode speed of our formats and llama.cpp's (pipeline/bench/peer.py), one run, interleaved rounds:
    medians, spread, and the speed-up over each FP32 implementation. Empty without the peer rows."""
    peer = bench_table[bench_table["scope"] == "peer"]
    if not len(peer):
        return pd.DataFrame()
    wide = peer.pivot_table(index="format", columns="metric", values="value", aggfunc="first")
    rows = []
    for fmt in PEER_FORMATS:
        if fmt in wide.index:
            row = wide.loc[fmt]
            rows.append({"format": FORMAT_LABELS[fmt], "ms/token (median)": row["ms_per_token"], "IQR": row["ms_per_token_iqr"],
                         "min": row["ms_per_token_min"], "vs llama.cpp TQ2_0": row["latency_over_llamacpp_tq2_0"],
                         "x faster than our FP32": wide.loc["ours_fp32", "ms_per_token"] / row["ms_per_token"],
                         "x faster than llama.cpp F32": wide.loc["llamacpp_f32", "ms_per_token"] / row["ms_per_token"]})
    return pd.DataFrame(rows)


def reported_glue() -> pd.DataFrame:
    """The paper's GLUE figures (x 100) beside the README's BERT-Base row, for reference."""
    return pd.DataFrame([{"task": task, "metric": metric, "TernaryLM (paper)": paper_text(R[GLUE_CLAIM_ID[task]]),
                          "BERT-Base (paper README)": README_BERT_BASE_GLUE[task]}
                         for task, metric in HEADLINE_METRIC.items()])


# the basis of an entry judged before claims.json had one (tables of older runs), from its kind
_KIND_BASIS = {"reference": "published", "architecture": "architecture benchmark"}


def _entries(source: EvidenceSource) -> dict[str, dict]:
    """A source's claims table by claim id, each row as a dict (JSON null read back as None)."""
    rows = source.claims.astype(object).where(source.claims.notna(), None)
    return {row["id"]: row for row in rows.to_dict("records")}


def verdicts_at_a_glance(sources: list[EvidenceSource]) -> pd.DataFrame:
    """One line per claim: the source that decides it by the precedence of
    :func:`pipeline.analysis.evidence.decide` (best scale, most seeds, newest; never by its verdict), its
    verdict, the scale it was tested at and why, the other sources' verdicts beside it; claims decided
    by published figures alone listed last, as their own group."""
    decisions = decide([Source(source.name, _entries(source), source.created) for source in sources])
    rows = [{"claim": d.entry["description"], "verdict": d.entry["verdict"],
             "tested at": f"{d.entry.get('tested_at') or ''} [{d.source}]", "why": d.entry["reason"],
             "also": d.others_text(), "basis": d.entry.get("basis") or _KIND_BASIS.get(d.entry.get("kind"), "")}
            for d in decisions]
    glance = pd.DataFrame(rows)
    return pd.concat([glance[glance["basis"] != "published"], glance[glance["basis"] == "published"]],
                     ignore_index=True)


def shared_reasons(glance: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Say each reason once: a reason shared by several claims becomes a note key ([A], [B], ...)."""
    counts = glance["why"].value_counts()
    repeated = [reason for reason in glance["why"].drop_duplicates() if counts[reason] > 1]
    keys = {reason: f"[{chr(ord('A') + i)}]" for i, reason in enumerate(repeated)}
    short = glance.assign(why=glance["why"].map(lambda reason: keys.get(reason, reason)))
    return short, {key: reason for reason, key in keys.items()}


def _present(value: object) -> bool:
    """Whether a claims-table cell holds a value (JSON null arrives as None or NaN)."""
    return value is not None and pd.notna(value)


def claim_details(claims: pd.DataFrame) -> pd.DataFrame:
    """The numbers behind each verdict: paper, ours, what sits beside it, rule and margin; what the entry
    rests on and, for an untested claim, the command that would test it with its cost."""
    none = [None] * len(claims)
    return pd.DataFrame({
        "id": claims["id"], "paper": claims["paper_value"].map(paper_text),
        "ours": [value_text(v, s, n) for v, s, n in zip(claims["ours"], claims["ours_std"], claims["n_seeds"])],
        "beside": [f"{label or 'alt'}: {value_text(v)}" if _present(v) else ""
                   for v, label in zip(claims["ours_alt"], claims["alt_label"])],
        "constant predictor": [value_text(v) if _present(v) else "" for v in claims["trivial_baseline"]],
        "units": claims["units"], "rule": claims["tolerance"],
        "margin": [f"{m:+.3g}" if _present(m) else "" for m in claims["margin"]],
        "verdict": claims["verdict"],
        "basis": claims.get("basis", ""),
        "what would test it": [_test_text(command, cost) for command, cost in
                               zip(claims.get("command", none), claims.get("cost", none))],
    })


def _test_text(command: str | None, cost: dict | None) -> str:
    """``command (102-104 NVIDIA T4-hours)``: an untested claim's command and its price; empty otherwise."""
    if not _present(command):
        return ""
    low, high = cost["hours"]
    return f"{command} ({low:.3g}{'' if f'{low:.3g}' == f'{high:.3g}' else f'-{high:.3g}'} {cost['device']})"


def degenerate_glue_runs(glue: pd.DataFrame) -> pd.DataFrame:
    """Fine-tuned runs whose dev predictions are constant in effect (MCC = 0): degenerate classifiers."""
    return glue[glue["mcc"].abs() < 1e-12][["role", "seed", "task", "accuracy", "f1", "mcc"]]


def _arm_lines(arm: ArmResult) -> list[str]:
    """One line per role of ``arm`` (its metrics beside the main runs'), then its paired contrast."""
    lines = []
    for role in arm.roles:
        versus = {metric: f"{mean_std_text(role.arm[metric])} vs main {mean_std_text(role.main[metric])}"
                  for metric in role.arm}
        lines.append(f"* **{arm.name}** ({arm.note}), {role.role}: val PPL {versus['val_ppl']}; val/train ratio "
                     f"{versus['train_val_ratio']}; train PPL {versus['train_ppl']}; zero codes "
                     f"{mean_std_text(role.zero_pct)} (Gaussian 31.0%).")
    if arm.contrast is not None:
        lines.append(f"* **{arm.name}** contrast (FP32 minus ternary ratio, paired): {mean_std_text(arm.contrast)}, "
                     f"gap share {arm.gap_fraction:.2f}.")
    return lines


def arm_findings(study: StudyInputs) -> list[str]:
    """What each arm shows, as Markdown bullets, in numbers taken from the study's metrics/arms.json."""
    return [line for arm in study.arm_results for line in _arm_lines(arm)]
