"""The report's opening lines, generated from the judged claims (:mod:`.verdicts`): what reproduced,
what did not and the head of why, what stays undecided and why, and what would settle the rest (the
claims' own ``command`` and ``cost``, grouped by command). Each claim's words link to its evidence row."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.analysis.report.format import present
from pipeline.analysis.report.verdicts import UNTESTED, Judged, first_clause


@dataclass(frozen=True)
class SummaryLine:
    """One line of the report's summary: a heading (``Reproduced (3)``) and its items, each the claim
    id its link goes to (empty for none), the linked text and the text after it."""

    heading: str
    items: list[tuple[str, str, str]]


def _versus(row: Judged) -> str:
    """``-0.27 ± 0.09 vs +2.46``: ours and the paper's, where each exists, and ``opposite sign`` where
    a signed quantity (a difference) goes the other way from the paper's."""
    ours, paper = row.entry.get("ours"), row.entry.get("paper_value")
    opposite = row.unit.signed and present(ours) and isinstance(paper, (int, float)) and ours * paper < 0
    return " vs ".join(value for value in (row.ours, row.paper) if value != "-") + (", opposite sign" if opposite else "")


def _short_label(row: Judged) -> str:
    """The label cut at its first colon, where what is left still says something (>= 20 characters)."""
    head = row.label.split(":")[0]
    return head if len(head) >= 20 else row.label


def _head(row: Judged) -> str:
    """Why a decided claim came out as it did, in a few words for the summary: nothing for a reproduced
    one or one whose reason is only ours against the bar; a GLUE score not above its constant
    predictor in those words; else the head of its reason."""
    if row.verdict == "reproduced" or row.comparison:
        return ""
    if row.verdict == "uninformative" and present(row.entry.get("trivial_baseline")):
        return "no better than the dev set's constant predictor"
    return first_clause(row.why.split(":")[0] if row.verdict == "uninformative" else row.why)


def _items(rows: list[Judged]) -> list[tuple[str, str, str]]:
    """Decided claims in a summary line, grouped by why (:func:`_head`): each claim's label with ours
    vs the paper's value (claims that share a label, one claim tested at several lengths, said once
    with their numbers side by side), then the shared why."""
    heads: dict[str, dict[str, list[Judged]]] = {}
    for row in rows:
        heads.setdefault(_head(row), {}).setdefault(_short_label(row), []).append(row)
    items = []
    for head, labels in heads.items():
        for index, (label, group) in enumerate(labels.items()):
            wheres = _differing([row.where for row in group])
            numbers = "; ".join(f"{where}: {_versus(row)}" if where else _versus(row)
                                for where, row in zip(wheres, group))
            last = index == len(labels) - 1
            items.append((group[0].claim_id, label, f" ({numbers})" + (f": {head}" if head and last else "")))
    return items


def _differing(wheres: list[str]) -> list[str]:
    """The parts of several ``where`` texts that tell them apart (``30 epochs``, ``40 epochs``); empty
    for a single one."""
    if len(wheres) < 2:
        return [""] * len(wheres)
    split = [where.split(", ") for where in wheres]
    common = set.intersection(*(set(parts) for parts in split))
    return [", ".join(part for part in parts if part not in common) for parts in split]


def _costs(rows: list[Judged], shown: int = 3) -> list[tuple[str, str, str]]:
    """What would settle ``rows``, grouped by command, most claims first (the first ``shown`` groups and
    a count of the rest): ``13 claims by `python -m pipeline.profiles paper-code && dvc repro`: 102-104
    NVIDIA T4-hours``."""
    groups: dict[str, list[Judged]] = {}
    for row in rows:
        if row.command:
            groups.setdefault(row.command, []).append(row)
    ranked = sorted(groups.values(), key=len, reverse=True)
    items = [(group[0].claim_id, f"{len(group)} claim{'s' if len(group) > 1 else ''}",
              f" by `{re.sub(r' [(].*', '', group[0].command)}`: {group[0].cost}") for group in ranked[:shown]]
    rest = sum(len(group) for group in ranked[shown:])
    return items + ([("", "", f"{rest} by {len(ranked) - shown} other runs (in the evidence table)")] if rest else [])


def summary_lines(rows: list[Judged]) -> list[SummaryLine]:
    """The report's opening lines, from the judged rows: what reproduced, what did not and why, what
    stays undecided and why, and what would settle the rest (the claims' commands and costs)."""
    lines = []
    for verdict, heading in (("reproduced", "Reproduced"), ("not reproduced", "Not reproduced"),
                             ("uninformative", "Undecided")):
        chosen = [row for row in rows if row.verdict == verdict]
        if chosen:
            lines.append(SummaryLine(f"{heading} ({len(chosen)})", _items(chosen)))
    unsettled = [row for row in rows if row.verdict in UNTESTED or row.verdict == "uninformative"]
    if unsettled:
        untested = sum(row.verdict in UNTESTED for row in rows)
        lines.append(SummaryLine(f"Not tested here ({untested}); what would settle these and the undecided",
                                 _costs(unsettled)))
    return lines
