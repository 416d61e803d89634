"""The committed report (reports/report.html, written by the report stage) read as a researcher reads
it, without a browser: the summary and the verdict counts before anything else, the decided claims
with paper and ours side by side, the untested folded, real-data evidence before this run's synthetic
smoke test, every claim link landing on its row, and none of the leftovers issue 24 listed."""

import re

import pytest
from bs4 import BeautifulSoup

from pipeline.analysis.claims import VERDICTS
from tests.conftest import PROJECT_ROOT

REPORT = PROJECT_ROOT / "reports" / "report.html"


@pytest.fixture(scope="module")
def soup() -> BeautifulSoup:
    if not REPORT.is_file():
        pytest.skip("reports/report.html not rendered (dvc repro)")
    return BeautifulSoup(REPORT.read_text(encoding="utf-8"), "html.parser")


def _after(first, second) -> bool:
    """Whether ``second`` comes after ``first`` in the document."""
    return second in first.find_all_next()


def test_the_first_screen_is_the_summary_the_counts_and_the_decided_verdicts(soup):
    title = soup.find("h1")
    summary, counts = soup.find("ul", class_="summary"), soup.find("p", class_="counts")
    glance = soup.find("table", class_="glance")
    assert title.get_text().startswith("TernaryLM")
    assert _after(title, summary) and _after(summary, counts) and _after(counts, glance)
    assert not [h2 for h2 in soup.find_all("h2") if _after(h2, glance)]  # no section before the glance table
    assert summary.find("li").get_text().split(" (")[0] in {"Reproduced", "Not reproduced", "Undecided"}
    for verdict in VERDICTS:
        assert re.search(rf"\d+ {verdict}", counts.get_text(" ")), verdict


def test_decided_rows_show_paper_and_ours_and_the_untested_are_folded(soup):
    glance = soup.find("table", class_="glance")
    assert [th.get_text() for th in glance.find_all("th")][:4] == ["verdict", "claim", "paper", "ours"]
    rows = glance.find("tbody").find_all("tr")
    assert rows
    for row in rows:
        verdict, _, paper, ours = (cell.get_text() for cell in row.find_all("td")[:4])
        assert verdict in ("reproduced", "not reproduced", "uninformative") and paper and ours
    folded = {details.find("summary").get_text(" ") for details in soup.find_all("details", class_="report")}
    assert any("not comparable" in text for text in folded)


def test_every_claim_link_lands_on_its_evidence_row(soup):
    targets = {tag["id"] for tag in soup.find_all(id=True)}
    links = {a["href"][1:] for a in soup.find_all("a", href=True) if a["href"].startswith("#claim-")}
    assert links and links <= targets


def test_real_data_and_the_benchmark_come_before_the_synthetic_appendix(soup):
    headings = [h2.get_text() for h2 in soup.find_all("h2")]
    order = [next(i for i, text in enumerate(headings) if text.startswith(prefix))
             for prefix in ("1. Real data", "2. Memory and latency", "3. Every claim", "Appendix A")]
    assert order == sorted(order)


def test_none_of_the_leftovers_come_back(soup):
    text = soup.get_text(" ")
    assert "FP16" not in text and "alt:" not in text and "[A]" not in text and "))" not in text
    assert " ± 0 " not in text and not re.search(r"\d\.\d{3}\d+ MB", text)  # no 527.686 MB
    for thead in soup.find_all("thead"):
        assert len(thead.find_all("tr")) == 1  # no empty multi-index header rows
    assert text.count("Shaded band") >= 2  # every band is explained where it is drawn
