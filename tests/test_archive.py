"""The archive tool cannot destroy: bad names are refused with nothing touched, a kill at any step of
the swap leaves the previous archive at its name or restorable (and the next run restores it), and
the archive listing skips what an interrupted swap leaves. Real files in tmp folders, never results/."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest
import yaml

from pipeline.analysis import archive
from pipeline.analysis.runsets import GLUE_METRICS
from pipeline.errors import InputError, MissingInputError
from pipeline.layout import list_archives
from pipeline.metrics import HEADLINE_METRIC
from tests.conftest import PROJECT_ROOT, tiny_raw_params

NAME = "study"
RUN_DIRS = ("runs/studied/seed_0", "runs/studied/seed_1", "runs/baseline/seed_0", "runs/baseline/seed_1",
            "runs/arms/notebook_init/seed_0/studied")
# the fine-tuned seeds' scores (glue.seeds [0, 1]) and the no-pretraining controls (scratch_seeds [0])
GLUE_FILES = ("runs/studied/seed_0/glue.json", "runs/studied/seed_1/glue.json", "runs/baseline/seed_0/glue.json",
              "runs/baseline/seed_1/glue.json", "runs/scratch/studied/seed_0/glue.json",
              "runs/scratch/baseline/seed_0/glue.json")
GLUE_STAGES = ("glue_studied@0", "glue_studied@1", "glue_baseline@0", "glue_baseline@1", "glue_scratch@studied-0",
               "glue_scratch@baseline-0")


class Killed(BaseException):
    """A stand-in for kill -9: no ``except Exception`` (nor the code's own cleanup) can catch it."""


def write_outputs(root: Path, version: str) -> None:
    """The small outputs of a finished run, each file marked with ``version`` so archives differ."""
    files = {"dvc.lock": f"schema: '2.0'\n# {version}\n", "metrics/summary.json": f'{{"v": "{version}"}}\n',
             "metrics/plots/epoch_curves.csv": f"step,loss\n1,{version}\n", "reports/claims.json": f'[["{version}"]]\n',
             "reports/figures/loss.svg": f"<svg>{version}</svg>\n",
             "models/studied/seed_0/model.safetensors": "checkpoints stay in the DVC cache\n"}
    for run_dir in RUN_DIRS:
        files[f"{run_dir}/metrics.json"] = f'{{"v": "{version}"}}\n'
        files[f"{run_dir}/live/plots/metrics/train/loss.tsv"] = f"step\tloss\n1\t{version}\n"
    for relative in GLUE_FILES:
        files[relative] = json.dumps({"version": version, **glue_scores(0.7)}) + "\n"
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)


def glue_scores(score: float) -> dict[str, dict[str, float]]:
    """A glue.json's scores: ``score`` for every metric of every task, the constant predictor at 0.5."""
    return {task: {metric: 0.5 if metric.startswith("trivial_") else score for metric in GLUE_METRICS}
            for task in HEADLINE_METRIC}


def make_project(root: Path) -> Path:
    """A project laid out as the archive reads it (two seeds, one arm), with results/ holding a README
    and another archive that every test checks is left alone."""
    params = tiny_raw_params(train={"seeds": [0, 1]}, arms={"seeds": [0], "run": ["notebook_init"]})
    root.mkdir(parents=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    write_outputs(root, "v1")
    (root / "results" / "cpu-study" / "metrics").mkdir(parents=True)
    (root / "results" / "README.md").write_text("# Archived runs\n")
    (root / "results" / "cpu-study" / "archive.json").write_text('{"name": "cpu-study"}\n')
    (root / "results" / "cpu-study" / "metrics" / "summary.json").write_text("{}\n")
    return root


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones included) by relative path, with its content's hash."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


ALL_STEPS = ("rename", "rmtree", "copytree", "copy2")
SWAP_STEPS = ("rename", "rmtree")


@contextmanager
def kill_at(k: int, kinds: tuple[str, ...] = ALL_STEPS) -> Iterator[list[str]]:
    """Within the block, the ``k``-th call of one of ``kinds`` (Path.rename, shutil.rmtree, copytree,
    copy2) raises :class:`Killed` (``k=0``: never). A killed rmtree first deletes one file (if any), as
    a kill halfway through a deletion would. Yields the kinds of the counted calls made so far."""
    calls: list[str] = []
    inside: list[str] = []  # copytree calls itself for each subfolder: count the outer call only

    def wrap(kind: str, original):
        def op(*args, **kwargs):
            if inside:
                return original(*args, **kwargs)
            calls.append(kind)
            if len(calls) == k:
                if kind == "rmtree":
                    victim = next((path for path in Path(args[0]).rglob("*") if path.is_file()), None)
                    if victim is not None:
                        victim.unlink()
                raise Killed(f"{kind} #{k}")
            inside.append(kind)
            try:
                return original(*args, **kwargs)
            finally:
                inside.pop()
        return op

    with pytest.MonkeyPatch.context() as patch:
        for kind in kinds:
            owner = Path if kind == "rename" else shutil
            patch.setattr(owner, kind, wrap(kind, getattr(owner, kind)))
        yield calls


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def test_a_run_archives_the_small_outputs(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive.main([NAME, "--note", "laptop, dvc repro, 3 min", "--root", str(project)])
    target = project / "results" / NAME
    assert capsys.readouterr().out.strip() == f"archived to {target}"
    copied = set(snapshot(target))
    assert {"params.yaml", "dvc.lock", "metrics/summary.json", "reports/claims.json", "reports/figures/loss.svg",
            "archive.json"} <= copied
    assert {f"{run_dir}/live/plots/metrics/train/loss.tsv" for run_dir in RUN_DIRS} <= copied
    assert not any(path.startswith("models") for path in copied)
    assert json.loads((target / "archive.json").read_text())["note"] == "laptop, dvc repro, 3 min"
    assert sorted(path.name for path in (project / "results").iterdir()) == ["README.md", "cpu-study", NAME]


@pytest.mark.parametrize("name", [".", "", "..", "a/b", "../x", "/absolute", "cpu-study/..", "a\\b", ".hidden",
                                  "notes", "README.md", "link"])
def test_a_bad_name_is_refused_in_one_line_and_nothing_changes(project: Path, name: str) -> None:
    results = project / "results"
    (results / "notes").mkdir()
    (results / "notes" / "draft.md").write_text("not an archive\n")
    (results / "link").symlink_to(results / "cpu-study")
    name = str(project / "elsewhere") if name == "/absolute" else name
    before = snapshot(results)
    with pytest.raises(SystemExit) as exit_:
        archive.main([name, "--root", str(project)])
    message = exit_.value.code
    assert isinstance(message, str) and "\n" not in message
    assert message.startswith(f"error: archive NAME {name!r}")
    assert "use letters, digits" in message or "pick another NAME" in message
    assert snapshot(results) == before
    assert not (project / "elsewhere").exists()


def test_the_command_line_refuses_dot_without_a_traceback(project: Path) -> None:
    """The reported case: ``archive .`` exited 0 and deleted the whole of results/."""
    before = snapshot(project / "results")
    done = subprocess.run([sys.executable, "-m", "pipeline.analysis.archive", ".", "--root", str(project)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.startswith("error: archive NAME '.' is not a plain folder name")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert snapshot(project / "results") == before


def test_an_unfinished_run_is_refused_before_anything_is_touched(project: Path) -> None:
    shutil.rmtree(project / "runs" / "arms")
    (project / "results" / ".old-run.partial").mkdir()
    before = snapshot(project / "results")
    with pytest.raises(MissingInputError, match="notebook_init/seed_0/studied not found"):
        archive.archive_run(NAME, project)
    assert snapshot(project / "results") == before and (project / "results" / ".old-run.partial").is_dir()


def test_a_folder_without_params_is_refused_with_the_root_option(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"^error: .*params.yaml not found: run from the project root, or pass --root"):
        archive.main([NAME, "--root", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []


def test_a_second_archive_run_at_the_same_time_is_refused(project: Path) -> None:
    results = project / "results"
    before = snapshot(results)
    handle = os.open(results, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another archive run is writing"):
            archive.archive_run(NAME, project)
    finally:
        os.close(handle)
    assert snapshot(results) == before


def assert_nothing_lost(results: Path, previous: dict[str, str], new: dict[str, str],
                        others: dict[str, str]) -> None:
    """The archive is whole at its name, or waits whole at ``.NAME.old`` for the next run to put back
    (v1, or v2 once a run has swapped it in); the rest of results/ is untouched."""
    target = results / NAME
    if target.exists():
        assert snapshot(target) in (previous, new)
    else:
        assert snapshot(results / f".{NAME}.old") in (previous, new)
    assert {path: digest for path, digest in snapshot(results).items() if not path.startswith((NAME, f".{NAME}."))} \
        == others


def rerun(project: Path, k: int = 0, kinds: tuple[str, ...] = ALL_STEPS) -> list[str]:
    """Archive v2 with a kill at the ``k``-th step of ``kinds`` (0: none); the steps made. A kill asked
    for must happen."""
    with kill_at(k, kinds) as calls:
        try:
            archive.archive_run(NAME, project, note="v2")
        except Killed:
            return calls
    assert k == 0, f"no step {k}: the run made only {len(calls)}"
    return calls


def assert_clean(project: Path, new: dict[str, str]) -> None:
    """What a run that was not killed leaves: the new archive, and no hidden folder."""
    assert snapshot(project / "results" / NAME) == new
    assert not [path.name for path in (project / "results").iterdir() if path.name.startswith(".")]


def test_a_kill_at_any_step_of_two_runs_loses_nothing(tmp_path: Path) -> None:
    """Archive v1, then re-archive v2 killed at its k-th step (every rename, deletion and copy), then
    run again killed at its j-th rename or deletion (recovery and swap), for every k and j: the
    previous archive is never lost, and a clean run afterwards leaves v2 and no hidden folder. After
    every k, a run killed at its first copy (recovery done, the issue's failing next run) has the
    archive back at its name."""
    template = make_project(tmp_path / "template")
    archive.archive_run(NAME, template, note="v1")
    previous = snapshot(template / "results" / NAME)
    others = {path: digest for path, digest in snapshot(template / "results").items() if not path.startswith(NAME)}
    write_outputs(template, "v2")
    reference = tmp_path / "reference"
    shutil.copytree(template, reference)
    steps = len(rerun(reference))
    new = snapshot(reference / "results" / NAME)
    assert new != previous and steps >= 10

    def copy(source: Path, label: str) -> Path:
        shutil.copytree(source, tmp_path / label)
        return tmp_path / label

    for k in range(1, steps + 1):
        first = copy(template, f"k{k}")
        rerun(first, k)
        assert_nothing_lost(first / "results", previous, new, others)
        failed = copy(first, f"k{k}-copy")
        rerun(failed, 1, kinds=("copy2",))
        assert snapshot(failed / "results" / NAME) in (previous, new)
        clean = copy(first, f"k{k}-clean")
        for j in range(1, len(rerun(clean, kinds=SWAP_STEPS)) + 1):
            second = copy(first, f"k{k}-j{j}")
            rerun(second, j, kinds=SWAP_STEPS)
            assert_nothing_lost(second / "results", previous, new, others)
            rerun(second)
            assert_clean(second, new)
        assert_clean(clean, new)


def test_a_kill_between_the_renames_then_a_failed_run_keeps_the_previous_archive(project: Path) -> None:
    """The reported case: a kill between the two renames, then a run that fails while copying, used
    to leave nothing; leftovers of other names are recovered and cleaned as well."""
    archive.archive_run(NAME, project, note="v1")
    previous = snapshot(project / "results" / NAME)
    write_outputs(project, "v2")
    results = project / "results"
    (results / NAME).rename(results / f".{NAME}.old")
    (results / f".{NAME}.partial").mkdir()
    (results / f".{NAME}.partial" / "half.json").write_text("{")
    (results / ".other.partial").mkdir()
    (results / ".gone.old").mkdir()
    (results / ".gone.old" / "archive.json").write_text('{"name": "gone"}\n')
    calls = rerun(project, 5)  # recovery (2 renames back, 2 deletions), then the first copy
    assert calls == ["rename", "rename", "rmtree", "rmtree", "copy2"]
    assert snapshot(results / NAME) == previous
    assert (results / "gone" / "archive.json").is_file()
    rerun(project)
    assert json.loads((results / NAME / "archive.json").read_text())["note"] == "v2"
    assert not [path.name for path in results.iterdir() if path.name.startswith(".")]


def test_list_archives_skips_hidden_and_non_archive_folders(tmp_path: Path) -> None:
    results = tmp_path / "results"
    for folder in ("b", "a", f".{NAME}.old", f".{NAME}.partial", "notes"):
        (results / folder).mkdir(parents=True)
    for folder in ("b", "a", f".{NAME}.old", f".{NAME}.partial"):
        (results / folder / "archive.json").write_text("{}\n")
    (results / "README.md").write_text("# Archived runs\n")
    assert list_archives(results) == [results / "a", results / "b"]
    assert list_archives(tmp_path / "missing") == []


def _study_lock(project: Path) -> None:
    """A dvc.lock recording every run's train stage with the project's current params."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    reads = {"params": {"params.yaml": {"train.epochs": params["train"]["epochs"]}}}
    stages = {f"train_{role}@{seed}": reads for role in ("studied", "baseline") for seed in (0, 1)}
    (project / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages | {
        "train_arm@notebook_init-0": reads} | {stage: reads for stage in GLUE_STAGES}}))


def test_a_partial_archive_keeps_the_finished_runs_and_names_the_missing(project: Path) -> None:
    _study_lock(project)
    shutil.rmtree(project / "runs" / "baseline" / "seed_1")
    with pytest.raises(MissingInputError, match="keep what has finished with --partial"):
        archive.archive_run(NAME, project)
    target = archive.archive_run(NAME, project, partial=True)
    meta = json.loads((target / "archive.json").read_text())
    assert meta["complete"] is False
    assert meta["missing_runs"] == ["runs/baseline/seed_1", "runs/baseline/seed_1/glue.json"]
    assert (target / "runs/baseline/seed_0/metrics.json").is_file()
    assert not (target / "runs/baseline/seed_1").exists()
    # no stage the lock records with these params wrote them: the checkout's, not the study's
    assert not (target / "metrics/summary.json").exists() and not (target / "reports").exists()
    # the report pools finished archives only (the fixture's stand-in cpu-study archive has no claims)
    from pipeline.analysis.report.inputs import archived_runs
    shutil.rmtree(project / "results" / "cpu-study")
    assert [run.name for run in archived_runs(project)] == []


def test_restore_puts_lock_metrics_and_runs_back_for_the_same_params_only(project: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _study_lock(project)
    archive.archive_run(NAME, project, partial=True)
    clone = project.parent / "clone"
    clone.mkdir()
    (clone / "results").mkdir()
    shutil.copytree(project / "results" / NAME, clone / "results" / NAME)
    with pytest.raises(SystemExit, match=r"^error: .*params.yaml is not the params.yaml archive 'study' ran with: run "
                                         r"`python -m pipeline.profiles"):
        archive.main([NAME, "--restore", "--root", str(clone)])
    assert not (clone / "dvc.lock").exists()
    shutil.copy2(project / "params.yaml", clone / "params.yaml")
    archive.main([NAME, "--restore", "--root", str(clone)])
    assert "dvc repro --allow-missing" in capsys.readouterr().out
    assert (clone / "dvc.lock").read_bytes() == (project / "dvc.lock").read_bytes()
    for run_dir in RUN_DIRS:
        assert (clone / run_dir / "metrics.json").read_bytes() == (project / run_dir / "metrics.json").read_bytes()
    assert (clone / "metrics/summary.json").is_file() and not (clone / "models").exists()


def test_a_partial_archive_leaves_out_runs_the_lock_records_with_other_params(project: Path) -> None:
    """A clone starts with another profile's run files and lock: those runs are not this study's."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    reads = {"train.epochs": params["train"]["epochs"], "model.quant": params["model"]["quant"]}
    stages = {f"train_{role}@{seed}": {"params": {"params.yaml": dict(reads)}}
              for role in ("studied", "baseline") for seed in (0, 1)}
    stages["train_baseline@1"]["params"]["params.yaml"]["train.epochs"] = params["train"]["epochs"] + 1
    stages["train_arm@notebook_init-0"] = {"params": {"params.yaml": dict(reads)}}
    (project / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": stages}))
    target = archive.archive_run(NAME, project, partial=True)
    meta = json.loads((target / "archive.json").read_text())
    assert meta["missing_runs"][0] == "runs/baseline/seed_1" and not (target / "runs/baseline/seed_1").exists()
    assert meta["missing_runs"][1:] == list(GLUE_FILES)  # the lock records no fine-tune: none is the study's


def _trained_run(run_dir: Path, ratio: float, zeros: list[float]) -> None:
    """A finished run folder as a train stage leaves it: metrics.json, the end-of-epoch losses and
    the ternary zero curves (all, middle, boundary)."""
    eval_dir = run_dir / "live" / "plots" / "metrics" / "eval"
    eval_dir.mkdir(parents=True, exist_ok=True)
    steps = [10 * (epoch + 1) for epoch in range(len(zeros))]
    (run_dir / "metrics.json").write_text(json.dumps({"train_val_ratio": ratio, "steps": steps[-1]}))
    for split, losses in (("train", [4.0 - 0.5 * i for i in range(len(zeros))]), ("val", [4.1] * len(zeros))):
        (eval_dir / f"{split}_loss.tsv").write_text(
            f"step\t{split}_loss\n" + "".join(f"{s}\t{x}\n" for s, x in zip(steps, losses)))
    for name, shift in (("zero_pct", 0.0), ("zero_pct_middle", 0.5), ("zero_pct_boundary", -0.5)):
        (eval_dir / f"{name}.tsv").write_text(f"step\t{name}\n" + "".join(f"{s}\t{z + shift}\n"
                                                                          for s, z in zip(steps, zeros)))


def test_a_partial_archive_maps_the_run_sets_already_whole(tmp_path: Path) -> None:
    """The regime map and zero curves of a partial archive cover the main runs and the arms with every
    seed done; an unfinished arm stays out, and without the main runs there is no map at all."""
    from pipeline.config import parse_config

    cfg = parse_config(tiny_raw_params(train={"seeds": [0, 1]}, arms={"seeds": [0, 1], "run": ["w64_s1000", "w128_s200"]}))
    staging = tmp_path / "staging"
    for seed in (0, 1):
        for role, ratio in (("studied", 1.2), ("baseline", 2.0 + seed)):
            _trained_run(staging / "runs" / role / f"seed_{seed}", ratio, [31.0, 32.0, 33.0])
            _trained_run(staging / "runs" / "arms" / "w64_s1000" / f"seed_{seed}" / role, ratio, [31.0, 31.5])
    _trained_run(staging / "runs" / "arms" / "w128_s200" / "seed_0" / "studied", 1.1, [31.0])
    missing = [tmp_path / "runs/arms/w128_s200/seed_0/baseline", tmp_path / "runs/arms/w128_s200/seed_1/studied",
               tmp_path / "runs/arms/w128_s200/seed_1/baseline"]
    assert archive._provisional_analysis(cfg, staging, missing, tmp_path) == ["main", "w64_s1000"]
    table = pd.read_csv(staging / "metrics" / "regime_map.csv")
    assert table["run_set"].tolist() == ["main", "w64_s1000"] and table["contrast"].tolist() == [1.3, 1.3]
    zeros = pd.read_csv(staging / "metrics" / "plots" / "sparsity_curves.csv")
    assert zeros["run_set"].unique().tolist() == ["main", "w64_s1000"]
    assert zeros["middle_minus_boundary"].eq(1.0).all() and zeros["zero_pct"].max() == 33.0
    assert archive._provisional_analysis(cfg, staging, [tmp_path / "runs/baseline/seed_1"], tmp_path) is None


def test_glue_scores_are_archived_only_where_the_study_wrote_them(project: Path) -> None:
    """A complete archive keeps the fine-tuned seeds' and the controls' GLUE scores (runs/scratch too)
    and no other glue.json; a partial one only those whose stage the lock records with these params
    (a clone's run folders hold the cloned checkout's glue.json until the study's fine-tune runs)."""
    stray = project / "runs/arms/notebook_init/seed_0/studied/glue.json"
    stray.write_text("{}\n")
    target = archive.archive_run(NAME, project)
    assert all((target / relative).read_bytes() == (project / relative).read_bytes() for relative in GLUE_FILES)
    assert not (target / stray.relative_to(project)).exists()
    (project / GLUE_FILES[-1]).unlink()
    with pytest.raises(MissingInputError, match="GLUE results missing"):
        archive.archive_run(NAME, project)
    _study_lock(project)
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    del lock["stages"]["glue_baseline@1"]  # runs/baseline/seed_1/glue.json is the cloned checkout's
    (project / "dvc.lock").write_text(yaml.safe_dump(lock))
    shutil.rmtree(project / "runs/studied/seed_1")  # main runs unfinished: no provisional regime map to draw
    target = archive.archive_run(NAME, project, partial=True)
    meta = json.loads((target / "archive.json").read_text())
    assert meta["missing_runs"] == ["runs/studied/seed_1", "runs/studied/seed_1/glue.json",
                                    "runs/baseline/seed_1/glue.json", "runs/scratch/baseline/seed_0/glue.json"]
    assert (target / "runs/baseline/seed_1/metrics.json").is_file()
    assert not (target / "runs/baseline/seed_1/glue.json").exists()
    assert (target / "runs/scratch/studied/seed_0/glue.json").is_file()


def test_a_partial_archive_compares_glue_over_the_seeds_fine_tuned_so_far(project: Path) -> None:
    """Before pre-training's other runs finish, a partial archive holds the GLUE comparisons (the
    summary's GLUE part) over the glue.seeds whose two fine-tunes are in and the controls of both
    models, and says which; before any seed's two fine-tunes are in, none."""
    for relative, score in (("runs/studied/seed_0/glue.json", 0.8), ("runs/baseline/seed_0/glue.json", 0.9),
                            ("runs/scratch/studied/seed_0/glue.json", 0.6), ("runs/scratch/baseline/seed_0/glue.json", 0.65)):
        (project / relative).write_text(json.dumps(glue_scores(score)) + "\n")
    _study_lock(project)
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    shutil.rmtree(project / "runs/studied/seed_1")  # neither pre-trained nor fine-tuned yet: seed 1 is left out
    target = archive.archive_run(NAME, project, partial=True)
    meta = json.loads((target / "archive.json").read_text())
    assert meta["provisional_glue"] == {"seeds": [0], "scratch_seeds": [0], "bag_of_words": False}
    glue = json.loads((target / "metrics/glue_provisional.json").read_text())
    assert glue["studied_sst2_accuracy"] == pytest.approx(0.8) and glue["baseline_sst2_accuracy"] == pytest.approx(0.9)
    assert glue["scratch_baseline_cola_mcc"] == pytest.approx(0.65)
    assert glue["studied_cola_transfer"] == pytest.approx(0.2) and glue["baseline_cola_transfer_n"] == 1
    assert glue["sst2_retained_share"] == pytest.approx(0.75)  # (0.8 - 0.5) / (0.9 - 0.5)
    del lock["stages"]["glue_baseline@0"]
    (project / "dvc.lock").write_text(yaml.safe_dump(lock))
    target = archive.archive_run(NAME, project, partial=True)
    assert "provisional_glue" not in json.loads((target / "archive.json").read_text())
    assert not (target / "metrics/glue_provisional.json").exists()


def test_retiring_an_archive_keeps_it_under_a_new_name_marked_superseded(project: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    archive.archive_run(NAME, project, note="first study")
    first = snapshot(project / "results" / NAME)
    archive.main([NAME, "--retire-as", f"{NAME}-v1", "--root", str(project)])
    assert "superseded by study" in capsys.readouterr().out
    retired = project / "results" / f"{NAME}-v1"
    assert not (project / "results" / NAME).exists()
    meta = json.loads((retired / "archive.json").read_text())
    assert meta["name"] == f"{NAME}-v1" and meta["superseded_by"] == NAME and meta["note"] == "first study"
    assert "created" in meta  # when the first study was archived, not when it was moved
    assert not [path.name for path in (project / "results").iterdir() if path.name.startswith(".")]  # nothing left over
    moved = snapshot(retired)
    assert {path: digest for path, digest in moved.items() if path != "archive.json"} == \
        {path: digest for path, digest in first.items() if path != "archive.json"}  # every other file unchanged
    write_outputs(project, "v2")
    archive.archive_run(NAME, project, note="re-run")  # the re-run takes the freed name
    assert json.loads((project / "results" / NAME / "archive.json").read_text())["note"] == "re-run"
    assert snapshot(retired) == moved
    (project / "results" / "link").symlink_to(retired)
    for bad, message in (([f"{NAME}-v1", "--retire-as", NAME], "results/study exists"),
                         (["missing", "--retire-as", "missing-v1"], "missing/archive.json not found"),
                         (["link", "--retire-as", "link-v1"], "is a link")):
        before = snapshot(project / "results")
        with pytest.raises(SystemExit, match=f"^error: .*{message}"):
            archive.main([*bad, "--root", str(project)])
        assert snapshot(project / "results") == before


def test_a_kill_while_retiring_leaves_the_archive_whole_and_a_second_run_finishes(tmp_path: Path) -> None:
    for k in range(1, 5):
        project = make_project(tmp_path / f"project{k}")
        archive.archive_run(NAME, project)
        results = project / "results"
        before = {path: digest for path, digest in snapshot(results / NAME).items() if path != "archive.json"}
        with kill_at(k) as calls, pytest.raises(Killed):
            archive.retire_run(NAME, f"{NAME}-v1", project)
        listed = [path.name for path in list_archives(results)]
        if (results / f"{NAME}-v1").exists():  # the copy is in: whole, and marked (never pooled beside NAME)
            assert json.loads((results / f"{NAME}-v1" / "archive.json").read_text())["superseded_by"] == NAME
            assert {p: d for p, d in snapshot(results / f"{NAME}-v1").items() if p != "archive.json"} == before
        if (results / NAME).exists():  # killed before NAME was hidden: it is whole and still listed
            assert NAME in listed and {p: d for p, d in snapshot(results / NAME).items() if p != "archive.json"} == before
        else:
            assert calls[-1] == "rmtree" and listed == ["cpu-study", f"{NAME}-v1"]
        if (results / NAME).exists():
            archive.retire_run(NAME, f"{NAME}-v1", project)  # the same command again finishes the move
        assert [path.name for path in list_archives(results)] == ["cpu-study", f"{NAME}-v1"]
        assert {p: d for p, d in snapshot(results / f"{NAME}-v1").items() if p != "archive.json"} == before
