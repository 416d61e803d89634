"""Re-judge an archived run with the current claims rules: ``python -m pipeline.analysis.rejudge
results/NAME [--dry-run]`` rewrites ``results/NAME/reports/claims.json`` and the regime map
(``metrics/regime_map.csv``, ``metrics/plots/regime_curves.csv``) and the zero percentages over
training (``metrics/plots/sparsity_curves.csv``) atomically, and prints every
verdict that changed.

Nothing is mapped by name from the archive's summary.json, which may use older metric names: the
summary is recomputed with the current ``summarize`` from the archive's own files (its params.yaml,
``runs/`` and ``metrics/``; ratios to FP32 recomputed from the benchmark's measurements), and the
unigram baseline from the archive's corpus, rebuilt by re-running the data and tokenize steps of its
params into a temporary folder (local data and a deterministic tokenizer give the same tokens; the
corpus's fingerprint and token counts are checked against the archive's tokens.json). Thresholds the
archive's params predate are taken from the current params.yaml and named in the output.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.analysis.claims import Basis
from pipeline.analysis.summarize import epoch_curves_table, regime_map, summarize, zero_curves_table
from pipeline.config import Config, parse_config
from pipeline.data.prepare import load_corpus, write_corpus
from pipeline.data.tokenize import tokenize_corpus
from pipeline.errors import InputError, MissingInputError
from pipeline.io import atomic_path, read_json, write_json
from pipeline.layout import Outputs

_SAME_CORPUS = ("train_fingerprint", "train_tokens", "val_tokens", "vocab_size", "data_source")


def archive_config(folder: Path, current: Path) -> tuple[Config, list[str]]:
    """The archive's params, and the names of the ``claims`` thresholds it predates, which are taken from
    the ``current`` params file (the archive's own values win wherever it has them)."""
    params = folder / "params.yaml"
    if not params.is_file():
        raise MissingInputError(f"{params} not found: {folder} is not an archive of a run")
    raw = yaml.safe_load(params.read_text(encoding="utf-8"))
    now = yaml.safe_load(current.read_text(encoding="utf-8"))["claims"]
    added = [key for key in now if key not in raw["claims"]]
    raw["claims"] = {**now, **raw["claims"]}
    return parse_config(raw, source=f"{params} (claims thresholds it predates from {current})"), added


def rebuild_tokens(cfg: Config, workdir: Path, project_root: Path) -> Path:
    """The archive's token arrays again: its params' data and tokenize steps, into ``workdir``."""
    write_corpus(load_corpus(cfg.data, [], project_root), workdir / "prepared")
    tokenize_corpus(cfg.tokenizer, workdir / "prepared", workdir / "tokens", project_root)
    return workdir / "tokens"


def check_same_corpus(archived: dict[str, Any], rebuilt: dict[str, Any]) -> None:
    """Refuse a rebuilt corpus that is not the archive's (the data files or the tokenizer changed)."""
    differing = [key for key in _SAME_CORPUS if archived.get(key) != rebuilt.get(key)]
    if differing:
        raise InputError(f"the rebuilt corpus differs from the archive's tokens.json in {differing}: the data files "
                         "or the tokenizer changed since it ran, so its unigram baseline cannot be recomputed")


@dataclass(frozen=True)
class Change:
    """One claim whose verdict the current rules change (``old`` is None for a claim new to the table)."""

    id: str
    old: str | None
    new: str
    reason: str


def changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Change]:
    """The claims whose verdict differs between two tables, in the new table's order."""
    before = {entry["id"]: entry["verdict"] for entry in old}
    return [Change(entry["id"], before.get(entry["id"]), entry["verdict"], entry["reason"])
            for entry in new if before.get(entry["id"]) != entry["verdict"]]


def rejudge(folder: Path, project_root: Path = Path("."), write: bool = True) -> tuple[list[Change], list[str]]:
    """Re-judge the archive in ``folder`` with the current rules; write its claims.json unless not
    ``write``. Returns the changed verdicts and the thresholds taken from the current params."""
    cfg, added = archive_config(folder, project_root / "params.yaml")
    outputs = Outputs(folder)
    with tempfile.TemporaryDirectory(prefix="rejudge-") as workdir:
        tokens_dir = rebuild_tokens(cfg, Path(workdir), project_root)
        check_same_corpus(read_json(outputs.metrics("tokens")), read_json(tokens_dir / "tokens.json"))
        _, _, claims = summarize(cfg, folder, tokens_dir, outputs.metrics("benchmark"), outputs.metrics("sparsity"),
                                 basis=Basis.ARCHIVE)
        table, curves = regime_map(cfg, folder, epoch_curves_table(cfg, folder))
        zeros = zero_curves_table(cfg, folder)
    found = changes(read_json(outputs.claims) if outputs.claims.is_file() else [], claims)
    if write:
        write_json(outputs.claims, claims)
        # the regime map by the current code too (an archive made before it existed, or a study pinned
        # to an older commit: pipeline/analysis/regimes.py)
        for path, frame in ((outputs.regime_map, table), (outputs.plot("regime_curves"), curves),
                            (outputs.plot("sparsity_curves"), zeros)):
            with atomic_path(path) as tmp:
                frame.to_csv(tmp, index=False, float_format="%.6g")
    return found, added


def markdown(found: list[Change]) -> str:
    """The changed verdicts as a Markdown table: claim, old -> new, why."""
    rows = ["| claim | old -> new | why (new reason) |", "|---|---|---|"]
    rows += [f"| `{c.id}` | {c.old or '(new entry)'} -> **{c.new}** | {c.reason.replace('|', '/')} |" for c in found]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """The command line; bad input exits non-zero with a one-line ``error: ...`` (as the stages do)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="the archive's folder, e.g. results/cpu-study")
    parser.add_argument("--dry-run", action="store_true", help="print what would change; write nothing")
    args = parser.parse_args(argv)
    try:
        found, added = rejudge(args.archive, write=not args.dry_run)
    except InputError as exc:
        sys.exit("error: " + " ".join(str(exc).split()))
    if added:
        print(f"thresholds the archive's params predate, from params.yaml: {', '.join(added)}")
    print(markdown(found) if found else "no verdict changed")
    print(("would rewrite " if args.dry_run else "rewrote ") + str(Outputs(args.archive).claims))


if __name__ == "__main__":
    main()
