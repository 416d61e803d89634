"""One judged row per claim for the report's first screen and its evidence table: the source that
decides it (:func:`pipeline.analysis.evidence.decide`: best scale, tested before untested, most seeds,
newest; never by its verdict), where it was tested in a few words, the rule's bar and its reason in
the claim's units, and the other sources' verdicts; then the order the report shows them in and the verdict counts
(:mod:`.summary` writes the opening lines from them).

A rule's own reason states its arithmetic with raw numbers (``largest rise 0.00131 vs at most 0.02``).
Where the rule, re-applied to the entry's numbers, gives exactly the start of the entry's reason, that
start is restated in the claim's units (``0.13% vs at most 2%``) and the rest (a note the claim adds)
is kept; otherwise the reason is shown as the claims table has it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from pipeline.analysis.claims import CLAIMS, VERDICTS
from pipeline.analysis.evidence import Decision, Source, decide
from pipeline.analysis.report.format import Unit, given, hours, measured, mean_spread, present, unit_of
from pipeline.analysis.report.inputs import STUDY_ARCHIVE, EvidenceSource
from pipeline.analysis.rules import BandWidth, Measured, Rule
from pipeline.config import ClaimsConfig

DECIDED = ("reproduced", "not reproduced", "uninformative")
UNTESTED = ("not testable here", "not comparable")
# real-data evidence first, then the benchmark, then published figures (the brief's order of evidence)
BASIS_ORDER = ("archive", "this run", "architecture benchmark", "published")
KIND_BASIS = {"reference": "published", "architecture": "architecture benchmark"}  # tables older than ``basis``
RULES: dict[str, Rule] = {claim.id: claim.rule for claim in CLAIMS}
STUDY_SOURCE = f"results/{STUDY_ARCHIVE}"

# The bar of each rule in the claim's units: (rule, paper value, tolerances, unit) -> text.
_BARS: dict[str, Callable[[Any, Any, ClaimsConfig, Unit], str]] = {
    "band": lambda r, p, t, u: f"{given(p, u)} ± " + (f"{t.glue_points_tolerance:g} points" if r.width is BandWidth.POINTS
                                                     else f"{t.relative_tolerance:.0%}"),
    "factor": lambda r, p, t, u: given((p / t.std_factor, p * t.std_factor), u, digits=3),
    "at_most_factor": lambda r, p, t, u: f"at most {given(p * t.std_factor, u)}",
    "relative": lambda r, p, t, u: f"{given(p, u)} ± {t.relative_tolerance:.0%}",
    "at_least_relative": lambda r, p, t, u: f"at least {given(p * (1 - t.relative_tolerance), u)}",
    "parity": lambda r, p, t, u: f"1 ± {t.parity_tolerance:g} (parity)",
    "range": lambda r, p, t, u: given((p[0] - t.sparsity_points_tolerance, p[1] + t.sparsity_points_tolerance), u),
    "at_least": lambda r, p, t, u: f"at least {given(r.bar(t), u)}",
    "at_most_tolerance": lambda r, p, t, u: f"at most {given(t.smooth_loss_tolerance, u)}",
    "contrast": lambda r, p, t, u: (f"above 0 at p < {t.significance_level:g}, gap share at least "
                                    f"{t.contrast_min_gap_fraction:.0%}"),
    "f_test": lambda r, p, t, u: f"steadier at p < {t.significance_level:g}",
    "system": lambda r, p, t, u: (f"at least {given(p * (1 - t.relative_tolerance), u)} and latency "
                                  f"1 ± {t.parity_tolerance:g}"),
}
_RESTATED = ("band", "factor", "at_most_factor", "relative", "at_least_relative", "parity", "range", "at_least",
             "at_most_tolerance")  # the rules whose reason is their arithmetic


@dataclass(frozen=True)
class Judged:
    """One claim as the report shows it: the deciding ``source`` and its ``entry`` (a claims-table row),
    the others beside it, ``where`` it was tested, the rule's ``bar`` and the ``why`` in the claim's units."""

    claim_id: str
    source: str
    entry: Mapping[str, Any]
    others: list[tuple[str, Mapping[str, Any]]]
    where: str
    bar: str
    why: str

    @property
    def verdict(self) -> str:
        """The deciding entry's verdict."""
        return str(self.entry["verdict"])

    @property
    def basis(self) -> str:
        """``this run``, ``archive``, ``architecture benchmark`` or ``published``."""
        return str(self.entry.get("basis") or KIND_BASIS.get(self.entry.get("kind"), "this run"))

    @property
    def unit(self) -> Unit:
        """How the claim's numbers print (:func:`pipeline.analysis.report.format.unit_of`)."""
        return unit_of(self.entry.get("units"))

    @property
    def paper(self) -> str:
        """The paper's value as it states it, in the claim's unit."""
        return given(self.entry.get("paper_value"), self.unit)

    @property
    def ours(self) -> str:
        """Our value, the mean rounded to its spread; ``-`` where nothing was measured."""
        value = self.entry.get("ours")
        return mean_spread(value, self.entry.get("ours_std"), self.unit) if present(value) else "-"

    @property
    def label(self) -> str:
        """The claim in words, without a trailing parenthesis (its scale is in ``where``)."""
        return re.sub(r"\s*\([^()]*\)$", "", str(self.entry.get("description") or self.claim_id))

    @property
    def comparison(self) -> str:
        """``0.13% vs `` where the reason was restated as ours against the bar, else empty."""
        prefix = f"{measured(self.entry.get('ours'), self.unit)} vs "
        return prefix if self.why.startswith(prefix + self.bar) else ""

    @property
    def short_why(self) -> str:
        """The reason for the glance table: what a restated reason adds to ours and the bar (its note),
        else the reason's head (:func:`first_clause`); ``within the bar`` / ``outside the bar`` where
        the comparison is all there is."""
        if not self.comparison:
            return first_clause(self.why, limit=160)
        note = self.why[len(self.comparison + self.bar):].strip(" ;")
        note = note[1:-1] if note.startswith("(") and note.endswith(")") else note
        return note or ("within the bar" if self.verdict == "reproduced" else "outside the bar")

    @property
    def command(self) -> str:
        """The command that would test or decide it; empty where the entry names none."""
        command = self.entry.get("command")
        return str(command) if present(command) else ""

    @property
    def cost(self) -> str:
        """What that command costs (``102-104 NVIDIA T4-hours``); empty without a command."""
        return hours(self.entry.get("cost")) if self.command else ""


def tolerances(params: Mapping[str, Any], current: Mapping[str, Any]) -> ClaimsConfig | None:
    """A source's ``claims`` thresholds; keys it predates from ``current`` (as the archive re-judge does);
    None where they do not parse (its reasons are then shown as written)."""
    try:
        return ClaimsConfig(**{**current.get("claims", {}), **params.get("claims", {})})
    except (TypeError, ValueError):
        return None


def _measured(entry: Mapping[str, Any]) -> Measured:
    """The entry's numbers as the rule received them (the seed count an integer again)."""
    value = lambda key: entry.get(key) if present(entry.get(key)) else None  # noqa: E731
    n = value("n_seeds")
    return Measured(value("ours"), value("ours_std"), None if n is None else int(n), value("ours_alt"),
                    value("trivial_baseline"))


def _paper(entry: Mapping[str, Any]) -> Any:
    """The paper's value as the rule takes it: a (low, high) tuple for a range."""
    paper = entry.get("paper_value")
    return tuple(paper) if isinstance(paper, list) else paper


def bar_text(entry: Mapping[str, Any], tol: ClaimsConfig | None) -> str:
    """The bar the entry's rule holds ours against, in the claim's units; the entry's own ``tolerance``
    text where the rule or its thresholds are unknown."""
    rule, paper = RULES.get(str(entry["id"])), _paper(entry)
    if rule is None or tol is None or rule.name not in _BARS:
        return str(entry.get("tolerance") or "-")
    if paper is None and rule.name not in ("at_least", "f_test", "at_most_tolerance", "parity"):
        return "-"
    return _BARS[rule.name](rule, paper, tol, unit_of(entry.get("units")))


def _test_text(evidence: Mapping[str, Any] | None) -> str:
    """`` (t = -4.0, n = 2, p = 0.16)`` where the entry rests on a t-test; empty otherwise."""
    if not evidence or not {"t", "p", "n"} <= set(evidence):
        return ""
    return f" (t = {evidence['t']:.1f}, n = {int(evidence['n'])}, p = {evidence['p']:.2g})"


def why_text(entry: Mapping[str, Any], tol: ClaimsConfig | None) -> str:
    """The entry's reason, its rule arithmetic restated in the claim's units where it can be matched."""
    reason, rule = str(entry.get("reason") or ""), RULES.get(str(entry["id"]))
    restate = entry["verdict"] in ("reproduced", "not reproduced") or (rule is not None and rule.name == "at_least")
    if rule is None or tol is None or rule.name not in _RESTATED or not restate or not present(entry.get("ours")):
        return reason
    try:
        detail = rule.decide(_paper(entry), _measured(entry), tol).reason
    except (TypeError, ValueError, ZeroDivisionError):
        return reason
    if not reason.startswith(detail):
        return reason
    comparison = f"{measured(entry['ours'], unit_of(entry.get('units')))} vs {bar_text(entry, tol)}"
    comparison += _test_text(entry.get("evidence"))
    if entry["verdict"] == "uninformative":
        comparison += f": undecided (p < {tol.significance_level:g} over at least {tol.min_test_seeds} seeds needed)"
    return comparison + reason[len(detail):]


def _epochs(entry: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    """The epochs the entry's runs trained: its arm's (an arm named in the description, ``the
    medium_training arm``, or ending the claim's id, ``sparsity_above_gaussian_w64_s1000``) where the
    arm changes them, else the main runs'."""
    arms = params.get("arms", {}).get("defs", {})
    description, claim_id = str(entry.get("description") or ""), str(entry.get("id") or "")
    arm = next((name for name in arms if f"{name} arm" in description or claim_id.endswith(f"_{name}")), None)
    main = params.get("train", {}).get("epochs")
    return arms[arm].get("changes", {}).get("train.epochs", main) if arm else main


def source_name(source: str, entry: Mapping[str, Any]) -> str:
    """``CPU study`` for the archived study, ``this run (synthetic)`` for a synthetic run, else the source."""
    if source == STUDY_SOURCE:
        return "CPU study"
    if source == "this run":
        return "this run" + (" (synthetic)" if entry.get("scale") == "synthetic data" else "")
    return source


def tested_where(entry: Mapping[str, Any], source: str, params: Mapping[str, Any]) -> str:
    """Where the entry was judged, in a few words: ``CPU study, 30 epochs, 2 seeds``, ``132M-shape
    benchmark, on this CPU``, ``published figures``. Untested entries name the source only."""
    basis = entry.get("basis") or KIND_BASIS.get(entry.get("kind"))
    if basis == "published":
        return "published figures"
    if basis == "architecture benchmark":
        device = re.search(r", on (this CPU|a GPU)", str(entry.get("tested_at") or ""))
        return "132M-shape benchmark" + (f", on {device.group(1)}" if device else "")
    name = source_name(source, entry)
    if entry["verdict"] in UNTESTED:
        return name
    epochs, seeds = _epochs(entry, params), entry.get("n_seeds")
    return ", ".join([name] + ([f"{epochs} epochs"] if epochs else []) + ([f"{int(seeds)} seeds"] if present(seeds)
                                                                          else []))


def _entries(source: EvidenceSource) -> dict[str, dict[str, Any]]:
    """A source's claims table by claim id, each row a dict (JSON null and NaN read back as None)."""
    rows = source.claims.astype(object).where(source.claims.notna(), None)
    return {row["id"]: row for row in rows.to_dict("records")}


def _judged(decision: Decision, sources: Mapping[str, EvidenceSource], current: Mapping[str, Any]) -> Judged:
    """A decision of :func:`pipeline.analysis.evidence.decide` with its where, bar and reason worked out."""
    params = sources[decision.source].params
    tol, entry = tolerances(params, current), decision.entry
    return Judged(decision.claim_id, decision.source, entry, decision.others,
                  tested_where(entry, decision.source, params), bar_text(entry, tol), why_text(entry, tol))


def judge_all(sources: list[EvidenceSource]) -> list[Judged]:
    """One judged row per claim, in the report's order: verdicts as in
    :data:`pipeline.analysis.claims.VERDICTS` (decided ones first), then real-data evidence, the
    benchmark, published figures; the claims table's order within each."""
    by_name = {source.name: source for source in sources}
    current = sources[0].params if sources else {}
    decisions = decide([Source(source.name, _entries(source), source.created) for source in sources])
    rows = [_judged(decision, by_name, current) for decision in decisions]
    rank = lambda row: (_index(VERDICTS, row.verdict), _index(BASIS_ORDER, row.basis))  # noqa: E731
    return sorted(rows, key=rank)


def _index(order: tuple[str, ...], value: str) -> int:
    """Position of ``value`` in ``order``; unknown values last."""
    return order.index(value) if value in order else len(order)


def verdict_counts(rows: list[Judged]) -> dict[str, int]:
    """How many claims have each verdict, every verdict listed (zeros included), in VERDICTS order."""
    return {verdict: sum(row.verdict == verdict for row in rows) for verdict in VERDICTS}


def first_clause(text: str, limit: int = 110) -> str:
    """The head of a reason for a summary line: parentheses dropped, cut at the first ``;`` and at
    ``limit`` characters on a word boundary."""
    while re.search(r"\s*\([^()]*\)", text):
        text = re.sub(r"\s*\([^()]*\)", "", text)
    text = text.split(";")[0].strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."
