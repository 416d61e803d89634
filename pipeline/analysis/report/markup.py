"""The report's HTML pieces: its style sheet, a verdict as colour plus word, the verdict counts, the
summary, the glance table (decided claims; the untested folded in ``<details>``, grouped so that each
reason is said once) and the per-claim evidence table whose rows the glance links to (``#claim-<id>``).
Text is escaped here; numbers arrive formatted (:mod:`.format`)."""

from __future__ import annotations

import html
import re

import pandas as pd

from pipeline.analysis.report.format import measured
from pipeline.analysis.report.summary import SummaryLine
from pipeline.analysis.report.verdicts import DECIDED, Judged, source_name

VERDICT_COLOURS = {"reproduced": "#1a7f37", "not reproduced": "#cf222e", "uninformative": "#9a6700",
                   "not testable here": "#57606a", "not comparable": "#8c959f"}
STYLE = """<style>
.jp-RenderedHTMLCommon table, .report table {border-collapse: collapse; width: 100%; table-layout: auto;
  font-size: 13px; margin: 4px 0 12px 0}
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .report td, .report th {text-align: left !important;
  vertical-align: top; padding: 3px 6px; overflow-wrap: anywhere; max-width: 38em}
.report code {white-space: normal; overflow-wrap: anywhere}
.verdict {display: inline-block; padding: 1px 7px; border-radius: 9px; color: white; font-weight: 600;
  font-size: 12px; white-space: nowrap}
.counts .verdict {font-size: 13px; margin-right: 6px}
.summary li {margin: 2px 0}
.report details {margin: 6px 0 10px 0} .report summary {cursor: pointer; font-weight: 600}
.muted {color: #57606a}
.report caption {text-align: left; font-weight: 600; padding: 2px 0}
.report td.number {white-space: nowrap}
.report tr.group td {background: #f6f8fa; padding-top: 8px}
.report details.definition summary {font-weight: normal; color: #57606a}
@media print {details > * {display: block !important} .jp-RenderedHTMLCommon table {font-size: 10px}}
</style>"""


def anchor(claim_id: str) -> str:
    """The id of a claim's row in the evidence table."""
    return f"claim-{re.sub(r'[^A-Za-z0-9_-]', '-', claim_id)}"


def chip(verdict: str, text: str | None = None) -> str:
    """A verdict as colour plus word (the word alone carries it in print and for screen readers);
    ``text`` replaces the word (a count with it)."""
    colour = VERDICT_COLOURS.get(verdict, "#57606a")
    return f'<span class="verdict" style="background:{colour}">{html.escape(text or verdict)}</span>'


def _code(text: str) -> str:
    """Escaped text with `backticks` as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def counts_line(counts: dict[str, int]) -> str:
    """``34 claims, 12 decided: 3 reproduced ...`` as coloured counts, every verdict listed."""
    decided = sum(counts[verdict] for verdict in DECIDED)
    chips = " ".join(chip(verdict, f"{n} {verdict}") for verdict, n in counts.items())
    return f'<p class="report counts"><b>{sum(counts.values())} claims, {decided} decided:</b> {chips}</p>'


def summary_list(lines: list[SummaryLine]) -> str:
    """The summary as a bullet list, each claim's words linked to its evidence row."""
    items = []
    for line in lines:
        parts = [(f'<a href="#{anchor(claim_id)}">{_code(linked)}</a>' if claim_id else _code(linked)) + _code(rest)
                 for claim_id, linked, rest in line.items]
        items.append(f"<li><b>{html.escape(line.heading)}:</b> {' · '.join(parts)}</li>")
    return f'<ul class="report summary">{"".join(items)}</ul>'


def _claim_cell(row: Judged) -> str:
    """The claim's id (linked to its evidence) and its label."""
    return (f'<a href="#{anchor(row.claim_id)}"><code>{html.escape(row.claim_id)}</code></a><br>'
            f"{html.escape(row.label)}")


def glance_table(rows: list[Judged]) -> str:
    """The decided claims: verdict, claim, paper and ours side by side with the rule's bar, where it
    was tested, and why."""
    head = "".join(f"<th>{name}</th>" for name in ("verdict", "claim", "paper", "ours", "bar", "tested at", "why"))
    body = "".join(
        f'<tr><td>{chip(row.verdict)}</td><td>{_claim_cell(row)}</td><td class="number">{html.escape(row.paper)}</td>'
        f'<td class="number"><b>{html.escape(row.ours)}</b></td><td>{html.escape(row.bar)}</td>'
        f"<td>{html.escape(row.where)}</td><td>{_code(row.short_why)}</td></tr>" for row in rows)
    return (f'<table class="report glance"><caption>Verdicts at a glance: the decided claims</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _groups(rows: list[Judged]) -> list[list[Judged]]:
    """Rows sharing a reason and a command, in first-seen order: each reason is said once."""
    groups: dict[tuple[str, str], list[Judged]] = {}
    for row in rows:
        groups.setdefault((row.why, row.command), []).append(row)
    return list(groups.values())


def _test_html(row: Judged) -> str:
    """``<code>command</code>: cost``: what would test or decide the claim; empty where nothing is named."""
    return f"<code>{html.escape(row.command)}</code>: {html.escape(row.cost)}" if row.command else ""


def folded(rows: list[Judged], verdict: str, summary: str) -> str:
    """The claims with ``verdict`` in a closed ``<details>``, one table: per shared reason a row with the
    reason and what would test them (command and cost), said once, then each claim's paper and ours."""
    chosen = [row for row in rows if row.verdict == verdict]
    if not chosen:
        return ""
    body = []
    for group in _groups(chosen):
        them = "them" if len(group) > 1 else "it"
        test = f'<br><span class="muted">would test {them}:</span> {_test_html(group[0])}' if group[0].command else ""
        body.append(f'<tr class="group"><td colspan="4">{_code(group[0].why)}{test}</td></tr>')
        body += [f"<tr><td>{_claim_cell(row)}</td><td class=\"number\">{html.escape(row.paper)}</td>"
                 f"<td class=\"number\">{html.escape(row.ours)}</td><td>{html.escape(row.where)}</td></tr>"
                 for row in group]
    return (f'<details class="report"><summary>{chip(verdict, f"{len(chosen)} {verdict}")} {html.escape(summary)}'
            f'</summary><table><thead><tr><th>claim</th><th>paper</th><th>ours</th><th>judged from</th></tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></details>")


def _muted(text: object) -> str:
    """Secondary text (a source, a definition), escaped; empty for none."""
    return f'<br><span class="muted">{_code(str(text))}</span>' if text else ""


def _ours_cell(row: Judged) -> str:
    """Ours (mean ± spread), what sits beside it (named; an unnamed value is left out) and, for GLUE,
    the constant predictor on the same dev set."""
    entry, parts = row.entry, [f"<b>{html.escape(row.ours)}</b>"]
    if entry.get("alt_label") and row.entry.get("ours_alt") is not None:
        parts.append(f"{html.escape(str(entry['alt_label']))}: {html.escape(measured(entry['ours_alt'], row.unit))}")
    if entry.get("trivial_baseline") is not None:
        parts.append(f"constant predictor: {html.escape(measured(entry['trivial_baseline'], row.unit))}")
    return "<br>".join(parts)


def _verdict_cell(row: Judged) -> str:
    """The verdict, where it was tested, and the other sources' verdicts beside it."""
    others = "; ".join(f"{source_name(name, entry)}: {entry.get('verdict')}" for name, entry in row.others)
    return f"{chip(row.verdict)}<br>{html.escape(row.where)}" + _muted(f"also {others}" if others else "")


def _said_once(rows: list[Judged]) -> dict[str, str]:
    """Each claim's reason cell: the reason (and any hypothesis) where it first appears, a link to that
    claim where a later claim shares it."""
    first: dict[str, str] = {}
    cells = {}
    for row in rows:
        if row.why in first:
            cells[row.claim_id] = f'as for <a href="#{anchor(first[row.why])}"><code>{first[row.why]}</code></a>'
            continue
        first[row.why] = row.claim_id
        hypothesis = row.entry.get("hypothesis")
        cells[row.claim_id] = _code(row.why) + (_muted(f"hypothesis (untested): {hypothesis}") if hypothesis else "")
    return cells


def evidence_table(rows: list[Judged]) -> str:
    """Every claim with what its verdict rests on, one row each, the row's id the glance links to."""
    reasons = _said_once(rows)
    head = "".join(f"<th>{name}</th>" for name in ("claim", "paper", "ours", "bar", "verdict", "why",
                                                   "what would test or decide it"))
    body = "".join(
        f'<tr id="{anchor(row.claim_id)}"><td><code>{html.escape(row.claim_id)}</code><br>{html.escape(row.label)}'
        f'{_definition(row.entry.get("definition"))}</td>'
        f'<td>{html.escape(row.paper)}{_muted(row.entry.get("paper_source"))}</td><td>{_ours_cell(row)}</td>'
        f"<td>{html.escape(row.bar)}</td><td>{_verdict_cell(row)}</td>"
        f"<td>{reasons[row.claim_id]}</td><td>{_test_html(row)}</td></tr>" for row in rows)
    widths = "".join(f'<col style="width:{w}%">' for w in (20, 13, 13, 10, 13, 19, 12))
    return (f'<table class="report evidence"><colgroup>{widths}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _definition(text: object) -> str:
    """A claim's definition, folded (it is long; the verdict does not need it to be read)."""
    return f'<details class="definition"><summary>definition</summary>{_code(str(text))}</details>' if text else ""


def frame_table(frame: pd.DataFrame) -> str:
    """A pandas table as left-aligned HTML without its row numbers (a named index or MultiIndex becomes
    columns, so no empty header rows), missing cells blank."""
    flat = frame.reset_index() if any(name is not None for name in frame.index.names) else frame
    return flat.to_html(index=False, na_rep="", escape=True, classes="report", border=0)
