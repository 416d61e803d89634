"""Which run decides each claim when several hold evidence for it: this run and the archives under
``results/`` (each a folder with ``archive.json``; hidden folders never count). One source decides
each claim id, by a stated precedence, never by which verdict it gives:

1. the scale the entry was judged at: paper scale, then real data, then synthetic data (an entry of
   the architecture benchmark or of published figures is the same at every scale);
2. a source that tested the claim before one whose precondition was unmet (``not testable here``):
   whatever a tested source found, reproduced or not, outranks a source that could not test it;
3. the most seeds in the claim's precondition (the entry's ``n_seeds``; none counts as 0);
4. the newest: this run, then archives by archive.json's ``created`` (or, without one, its file time).

Rule 2 was added on 2026-12-02, after the regime map was complete: the CPU study's 5-seed entries
for sparsity, untestable there (its weights had not moved), outranked the regime map's 3-seed
entries, which tested them. It reads only whether a source tested a claim, never what it found.

The other sources' verdicts are listed beside the deciding one. The report calls :func:`decide`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.analysis.claims import NOT_TESTABLE
from pipeline.io import read_json

SCALE_RANK = {"paper scale": 0, "real data": 1, "synthetic data": 2}
SCALE_FREE_KINDS = ("architecture", "reference")  # decided by the 132M benchmark or published figures


@dataclass(frozen=True)
class Source:
    """One run's claims table: ``entries`` by claim id; ``created`` in POSIX seconds (this run: inf)."""

    name: str
    entries: Mapping[str, Mapping[str, Any]]
    created: float = math.inf


@dataclass(frozen=True)
class Decision:
    """The source that decides one claim, its entry, and every other source's entry beside it."""

    claim_id: str
    source: str
    entry: Mapping[str, Any]
    others: list[tuple[str, Mapping[str, Any]]]

    def others_text(self) -> str:
        """``results/a: uninformative (n=2); this run: not comparable`` for the table's column."""
        return "; ".join(f"{name}: {entry.get('verdict')}" + (f" (n={_seeds(entry)})" if _seeds(entry) else "")
                         for name, entry in self.others)


def _seeds(entry: Mapping[str, Any]) -> int:
    """The entry's seed count; 0 where it has none (a single measurement, a published figure)."""
    value = entry.get("n_seeds")
    return 0 if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def scale_rank(entry: Mapping[str, Any]) -> int:
    """0 for the paper's scale (and scale-free entries), 1 for real data, 2 for synthetic data; read
    from the entry's ``scale``, or from ``tested_at`` in tables judged before it existed."""
    if entry.get("kind") in SCALE_FREE_KINDS:
        return 0
    if entry.get("scale") in SCALE_RANK:
        return SCALE_RANK[entry["scale"]]
    tested = str(entry.get("tested_at") or "")
    return 0 if tested == "paper scale" else 1 if "real data" in tested else 2


def precedence(source: Source, entry: Mapping[str, Any]) -> tuple[int, bool, int, float]:
    """The sort key of one source's entry: larger decides (best scale, tested, most seeds, newest)."""
    return -scale_rank(entry), entry.get("verdict") != NOT_TESTABLE, _seeds(entry), source.created


def decide(sources: Sequence[Source]) -> list[Decision]:
    """One decision per claim id, in the order the sources first list them (a tie in all four keys
    goes to the source listed first)."""
    ids = list(dict.fromkeys(claim_id for source in sources for claim_id in source.entries))
    decisions = []
    for claim_id in ids:
        holders = [(source, source.entries[claim_id]) for source in sources if claim_id in source.entries]
        best = max(range(len(holders)), key=lambda i: (precedence(*holders[i]), -i))
        source, entry = holders[best]
        others = [(other.name, other_entry) for i, (other, other_entry) in enumerate(holders) if i != best]
        decisions.append(Decision(claim_id, source.name, entry, others))
    return decisions


def archive_created(folder: Path) -> float:
    """When the archive in ``folder`` was made: archive.json's ``created`` (ISO 8601) where it records
    one, else that file's modification time."""
    meta = folder / "archive.json"
    created = read_json(meta).get("created")
    return datetime.fromisoformat(created).timestamp() if created else meta.stat().st_mtime
