"""The report's first screen and evidence table as a reader meets them, built from small claims tables
(no repro) and parsed without a browser: the summary first, then the verdict counts, then the decided
claims with paper and ours side by side; the untested folded with each reason said once; every link
to a claim's evidence lands on a row. Also the banner and machine note chosen from a run's facts."""

from bs4 import BeautifulSoup

from pipeline.analysis.report import markup
from pipeline.analysis.report.prose import machine_note, scale_banner
from pipeline.analysis.report.summary import summary_lines
from pipeline.analysis.report.verdicts import judge_all, verdict_counts
from tests.test_report_verdicts import sources


def first_screen() -> BeautifulSoup:
    """The report's opening as the notebook assembles it, and the evidence table below it."""
    rows = judge_all(sources())
    decided = [row for row in rows if row.verdict in ("reproduced", "not reproduced", "uninformative")]
    page = (markup.STYLE + markup.summary_list(summary_lines(rows)) + markup.counts_line(verdict_counts(rows))
            + markup.glance_table(decided) + markup.folded(rows, "not testable here", "untested")
            + markup.folded(rows, "not comparable", "off scale") + markup.evidence_table(rows))
    return BeautifulSoup(page, "html.parser")


def test_the_summary_comes_first_then_the_counts_then_the_decided_verdicts():
    soup = first_screen()
    blocks = [tag for tag in soup.find_all(["ul", "p", "table", "details"]) if tag.parent is soup]
    assert [block.name for block in blocks[:3]] == ["ul", "p", "table"]
    assert "summary" in blocks[0]["class"] and "counts" in blocks[1]["class"] and "glance" in blocks[2]["class"]
    assert blocks[0].find("li").get_text().startswith("Reproduced (1):")
    counts = blocks[1].get_text(" ")
    assert "8 claims, 6 decided" in counts and "0 not testable here" in counts and "2 not comparable" in counts


def test_glance_rows_put_paper_and_ours_side_by_side_with_a_coloured_verdict_word():
    glance = first_screen().find("table", class_="glance")
    assert [th.get_text() for th in glance.find_all("th")][:4] == ["verdict", "claim", "paper", "ours"]
    rows = glance.find("tbody").find_all("tr")
    assert len(rows) == 6  # the decided claims only
    verdict, claim, paper, ours = rows[0].find_all("td")[:4]
    assert verdict.get_text() == "reproduced" and "background" in verdict.find("span")["style"]
    assert claim.find("a")["href"] == "#claim-stable_training"
    assert (paper.get_text(), ours.get_text()) == ("0%", "0.13%")


def test_untested_claims_are_folded_and_each_reason_is_said_once():
    soup = first_screen()
    folded = soup.find("details")
    assert folded.find("summary").get_text(" ").startswith("2 not comparable")
    assert "val_ppl" not in soup.find("table", class_="glance").get_text()
    groups = folded.find_all("tr", class_="group")
    assert len(groups) == 1 and "a smaller model" in groups[0].get_text()  # two claims, one reason
    assert groups[0].find("code").get_text() == "python -m pipeline.profiles paper-code && dvc repro"


def test_every_link_to_a_claim_lands_on_its_evidence_row():
    soup = first_screen()
    targets = {tag["id"] for tag in soup.find_all(id=True)}
    links = [a["href"][1:] for a in soup.find_all("a", href=True) if a["href"].startswith("#claim-")]
    assert links and set(links) <= targets
    evidence = soup.find("table", class_="evidence")
    assert len(evidence.find("tbody").find_all("tr", id=True)) == 8
    second = evidence.find("tr", id="claim-train_val_ratio_fp32")
    assert "as for" in second.get_text() and second.find("a")["href"] == "#claim-val_ppl"  # reason said once


def test_banner_and_machine_note_follow_the_run_facts():
    assert scale_banner({"run_real_data": False}).startswith("**Synthetic data.**")
    assert scale_banner({"run_real_data": True, "run_paper_model": True}).startswith("**Small-scale run")
    assert scale_banner({"run_real_data": True, "run_paper_model": True, "run_paper_training": True}).startswith(
        "**Paper-scale run")
    assert machine_note({}) == "CPU load was not sampled (no /proc/stat)."
    assert machine_note({"cpu_busy_before": 0.0, "cpu_busy_after": 0.02, "machine_idle": True}) == \
        "Machine idle (other work used 0% of the CPU before timing, 2% after)."
    assert "busy" in machine_note({"cpu_busy_before": 0.4, "cpu_busy_after": 0.3, "machine_idle": False})
