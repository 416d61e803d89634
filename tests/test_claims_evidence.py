"""One source decides each claim (pipeline/analysis/evidence.py), by a stated precedence (scale, then
whether it tested the claim, then seeds, then the newest), never by what it found; the others are shown beside it. The report's glance
table calls it."""

import json
import os

import pandas as pd

from pipeline.analysis.evidence import Source, archive_created, decide
from pipeline.analysis.report.inputs import EvidenceSource


def _entry(verdict: str, n: int | None = None, scale: str = "real data", kind: str = "direction", **extra) -> dict:
    return {"verdict": verdict, "n_seeds": n, "scale": scale, "kind": kind, "description": "d", "reason": verdict,
            "tested_at": scale, "basis": extra.pop("basis", "archive"), **extra}


def test_the_archive_with_most_seeds_decides_whatever_its_verdict():
    sources = [Source("this run", {"a": _entry("not comparable", 3, "synthetic data")}),
               Source("results/five", {"a": _entry("uninformative", 5)}, created=100.0),
               Source("results/two", {"a": _entry("not reproduced", 2)}, created=200.0)]
    (decision,) = decide(sources)
    assert decision.source == "results/five" and decision.entry["verdict"] == "uninformative"
    assert decision.others_text() == "this run: not comparable (n=3); results/two: not reproduced (n=2)"


def test_a_source_that_tested_the_claim_outranks_more_seeds_that_could_not():
    sources = [Source("results/five", {"a": _entry("not testable here", 5)}, created=300.0),
               Source("results/three", {"a": _entry("not reproduced", 3)}, created=100.0),
               Source("results/two", {"a": _entry("reproduced", 2)}, created=200.0)]
    assert decide(sources)[0].source == "results/three"  # tested; then the most seeds, whatever it found
    untested = [Source("results/five", {"a": _entry("not testable here", 5)}),
                Source("results/two", {"a": _entry("not testable here", 2)})]
    assert decide(untested)[0].source == "results/five"
    synthetic = [Source("this run", {"a": _entry("reproduced", 3, "synthetic data")}),
                 Source("results/five", {"a": _entry("not testable here", 5)})]
    assert decide(synthetic)[0].source == "results/five"  # scale still comes first


def test_ties_go_to_the_newest_and_the_paper_scale_comes_first():
    sources = [Source("results/old", {"a": _entry("reproduced", 5)}, created=100.0),
               Source("results/new", {"a": _entry("not reproduced", 5)}, created=200.0),
               Source("results/paper", {"a": _entry("uninformative", 2, "paper scale")}, created=50.0)]
    assert decide(sources)[0].source == "results/paper"
    assert decide(sources[:2])[0].source == "results/new"


def test_benchmark_and_published_entries_go_to_the_newest_run():
    sources = [Source("this run", {"m": _entry("reproduced", None, "synthetic data", kind="architecture")}),
               Source("results/study", {"m": _entry("not reproduced", None, "real data", kind="architecture")}, 1.0)]
    assert decide(sources)[0].source == "this run"


def test_tables_judged_before_the_scale_field_are_ranked_by_tested_at():
    old = {"a": {"verdict": "not reproduced", "n_seeds": 5, "tested_at": "this CPU study (real data; 200 stories)"}}
    here = {"a": {"verdict": "not comparable", "n_seeds": 5, "tested_at": "synthetic default"}}
    assert decide([Source("this run", here), Source("results/cpu-study", old, 1.0)])[0].source == "results/cpu-study"


def test_archive_time_is_its_created_field_else_its_file_time(tmp_path):
    meta = tmp_path / "archive.json"
    meta.write_text(json.dumps({"name": "x"}))
    os.utime(meta, (1_000_000, 1_000_000))
    assert archive_created(tmp_path) == 1_000_000
    meta.write_text(json.dumps({"name": "x", "created": "2026-04-01T12:00:00+00:00"}))
    assert archive_created(tmp_path) == 1775044800
