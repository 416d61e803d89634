"""Keep a finished run's small outputs under ``results/<name>/``, so a run made with another
profile (real data on a CPU, the paper's recipe on a GPU) stays committed and readable after
``params.yaml`` goes back to the default.

``python -m pipeline.analysis.archive NAME [--note TEXT] [--root DIR]`` copies ``params.yaml``, ``dvc.lock``,
``metrics/``, ``reports/claims.json``, ``reports/figures/``, the per-run JSON/TSV files of the seeds and
arms the params name and the GLUE scores of the fine-tuned seeds and the no-pretraining controls
(``runs/scratch``); the main report pools each archive's verdicts and shows the CPU study's evidence.
Nothing is recomputed; checkpoints stay in the DVC cache.

A study longer than one sitting is kept the same way while it runs: ``--partial`` archives the runs
that have finished (``archive.json`` says ``"complete": false`` and lists the missing ones; the report
does not pool a partial archive's verdicts, and shows its regime map and zero curves over the run sets
already whole, written at archiving as provisional; its GLUE comparisons over the seeds fine-tuned so far
go to ``metrics/glue_provisional.json``, also provisional), and in a fresh clone at the archive's commit
``--restore`` puts its lock file, metrics and run folders back, after which ``dvc repro tokenize``
rebuilds the data and ``dvc repro --allow-missing`` skips every finished stage (its checkpoint is gone,
but every later stage reads run folders only) and trains the rest.

Nothing is lost: NAME must be a plain folder name, and an existing ``results/NAME`` is replaced only
if it is an archive (it holds ``archive.json``). The new archive is assembled in ``.NAME.partial``;
the old one is renamed to ``.NAME.old``, the new one renamed in, and only then is the old one deleted.
A kill at any point leaves the previous archive at its name or at ``.NAME.old``, and every archive
run first renames such an orphaned ``.NAME.old`` back, then deletes what interrupted runs left.

A study re-run under the same name keeps its predecessor readable: ``--retire-as OLD`` moves the archive
``results/NAME`` to ``results/OLD`` and marks it superseded by NAME (``archive.json``'s
``superseded_by``), so the report lists it and pools none of its verdicts (the re-run's win), and the
tests and README passages that read the earlier runs keep reading them. The copy is assembled in
``.OLD.partial`` and renamed in before NAME is hidden (renamed to ``.NAME.partial``) and deleted: a kill
leaves NAME whole at its name, the copy whole at OLD, or both (the same command again finishes).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import yaml

from pipeline.analysis.evidence import archive_created
from pipeline.config import Config, load_config
from pipeline.errors import InputError, MissingInputError, one_line_errors
from pipeline.io import atomic_path, read_json, write_json
from pipeline.config import ROLES
from pipeline.layout import ARCHIVE_META, SUPERSEDED_BY, Outputs, RunPaths, list_archives, scratch_glue

RESULTS_DIR = Path("results")
META = ARCHIVE_META
_NAME = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
_LEFTOVER = re.compile(rf"\.(?P<name>{_NAME})\.(?P<kind>partial|old)")


def _check_name(name: str) -> None:
    """Refuse anything but a plain folder name, before anything is touched: ``.``, ``""`` or a path
    would make the target ``results/`` itself or a folder outside it, which the swap would delete."""
    if not re.fullmatch(_NAME, name):
        raise InputError(f"archive NAME {name!r} is not a plain folder name: use letters, digits, '-', '_' "
                         "and '.' (not leading, no '/' or '\\'), e.g. python -m pipeline.analysis.archive cpu-study")


def _check_target(target: Path) -> Path:
    """``target`` if it is free or an archive the new one may replace; a link (which could point out
    of ``results/``) or a folder or file that is not an archive is refused untouched."""
    if target.is_symlink() or (target.exists() and not (target / META).is_file()):
        raise InputError(f"archive NAME {target.name!r}: {target} exists and is not an archive (no {META}): "
                         "pick another NAME, or move it out of the way first")
    return target


@contextmanager
def _locked(results: Path) -> Iterator[None]:
    """Hold ``results/`` for this run alone: recovery renames and deletes every name's leftovers, so a
    second archive run at the same time must not undo this one's swap halfway."""
    handle = os.open(results, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another archive run is writing into {results}: wait for it to finish, then "
                             "run this one again") from None
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _recover(results: Path) -> None:
    """Finish what interrupted runs left. First an orphaned ``.NAME.old`` (killed between the two
    renames) goes back to ``NAME``; only then are the remaining ``.NAME.partial`` (an unfinished
    assembly) and ``.NAME.old`` (its replacement is in place) deleted, so no copies pile up."""
    leftovers = sorted((path, match) for path in results.iterdir() if (match := _LEFTOVER.fullmatch(path.name)))
    for path, match in leftovers:
        home = results / match["name"]
        if match["kind"] == "old" and not (home.exists() or home.is_symlink()):
            path.rename(home)
    for path, _ in leftovers:
        if path.exists():
            shutil.rmtree(path)


def _lookup(tree: dict, dotted: str) -> object:
    """The value at a dotted params key (``train.epochs``), or a sentinel where the tree has none."""
    node: object = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


_ABSENT = object()
GLUE_FILE = "glue.json"  # a run folder's fine-tune scores (RunPaths.glue), written by its GLUE stage


def _lock_stages(root: Path) -> dict:
    """The stages dvc.lock records under ``root``, read once; empty without a lock."""
    lock_path = root / "dvc.lock"
    if not lock_path.is_file():
        return {}
    return (yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}).get("stages", {})


def _trained_with_these_params(stages: dict, stage: str, params: dict) -> bool:
    """Whether dvc.lock (``stages``) records ``stage`` as run with the values params.yaml holds now for
    every key it reads. A clone starts with the files and lock of the commit it came from (another
    profile's runs): those must not pass for this study's runs before its own stage has replaced them."""
    recorded = stages.get(stage, {}).get("params", {}).get("params.yaml", {})
    return bool(recorded) and all(_lookup(params, key) == value for key, value in recorded.items())


def _fresh_outputs(root: Path) -> list[str]:
    """The ``metrics/`` and ``reports/`` outputs of every stage dvc.lock records with the current
    params (checkpoints and data stay out, as in every archive)."""
    stages, params = _lock_stages(root), yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    return sorted({out["path"] for name, entry in stages.items() if _trained_with_these_params(stages, name, params)
                   for out in entry.get("outs", []) if out["path"].startswith(("metrics/", "reports/"))})


def _run_dirs(root: Path, cfg: Config, partial: bool = False) -> tuple[list[Path], list[Path]]:
    """(finished, missing) per-run folders the params name (main seeds, then arms). A run counts as
    finished when its metrics.json is written (the train stage writes it last) and, for ``partial``,
    when dvc.lock records its stage with the current params (:func:`_trained_with_these_params`).
    Unless ``partial``, a missing one fails here, before anything is touched, rather than halfway
    through the copy."""
    stages = {RunPaths.for_run(role, seed, root).metrics.parent: f"train_{role}@{seed}"
              for role in ROLES for seed in cfg.train.seeds}
    for arm in cfg.arms.run:
        for seed in cfg.arms.seeds:
            stages |= {RunPaths.for_run(role, seed, root, arm).metrics.parent: f"train_arm@{arm}-{seed}"
                       for role in cfg.arms.defs[arm].roles}
    finished, missing = _split_finished(root, stages, partial, lambda path: (path / "metrics.json").is_file())
    if missing and not partial:
        raise MissingInputError(f"{missing[0]} not found ({len(missing)} run folders missing): finish the run "
                                "first (dvc repro), fetch the arms' folders (dvc pull), or keep what has "
                                "finished with --partial")
    return finished, missing


def _split_finished(root: Path, stages: dict[Path, str], partial: bool,
                    written: Callable[[Path], bool]) -> tuple[list[Path], list[Path]]:
    """(finished, missing) of ``stages`` (each output path with the stage that writes it): finished when
    ``written`` holds and, for ``partial``, when dvc.lock records its stage with the current params
    (:func:`_trained_with_these_params`)."""
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8")) if partial else {}
    lock = _lock_stages(root) if partial else {}
    missing = [path for path, stage in stages.items()
               if not written(path) or (partial and not _trained_with_these_params(lock, stage, params))]
    return [path for path in stages if path not in missing], missing


def _glue_results(root: Path, cfg: Config, partial: bool = False) -> tuple[list[Path], list[Path]]:
    """(finished, missing) GLUE result files the params name: each fine-tuned seed's ``glue.json`` in
    its run folder and each no-pretraining control's under ``runs/scratch``. As for run folders
    (:func:`_run_dirs`), one counts as finished when it exists and, for ``partial``, when dvc.lock
    records its stage with the current params: until the study's own fine-tune replaces it, a run
    folder holds the ``glue.json`` of the checkout the study was cloned from. Unless ``partial``, a
    missing one fails here, before anything is touched."""
    stages = {RunPaths.for_run(role, seed, root).glue: f"glue_{role}@{seed}"
              for role in ROLES for seed in cfg.glue_seeds}
    stages |= {scratch_glue(role, seed, root): f"glue_scratch@{role}-{seed}"
               for role in ROLES for seed in cfg.glue.scratch_seeds}
    finished, missing = _split_finished(root, stages, partial, Path.is_file)
    if missing and not partial:
        raise MissingInputError(f"{missing[0]} not found ({len(missing)} GLUE results "
                                "missing): finish the fine-tunes first (dvc repro), or keep what has finished "
                                "with --partial")
    return finished, missing


def _commit(root: Path) -> str | None:
    """The git commit ``root`` is checked out at, or None outside a git checkout."""
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def _assemble(root: Path, cfg: Config, run_dirs: list[Path], glue_results: list[Path], missing: list[Path],
              staging: Path, name: str, note: str) -> None:
    """Copy the run's small outputs into ``staging``; ``archive.json`` last, so a folder holding it is
    complete. A partial archive (``missing`` runs) keeps, besides its finished runs, only the outputs of
    stages dvc.lock records with the current params: the rest of ``metrics/`` and ``reports/`` is the
    checkout's, not the study's, until the study's own stages write it."""
    shutil.copy2(root / "params.yaml", staging / "params.yaml")
    if (root / "dvc.lock").is_file():
        shutil.copy2(root / "dvc.lock", staging / "dvc.lock")
    small = _fresh_outputs(root) if missing else ["metrics", "reports/claims.json", "reports/figures"]
    results = [str(path.relative_to(root)) for path in glue_results]
    for relative in [*small, *(str(run_dir.relative_to(root)) for run_dir in run_dirs), *results]:
        source = root / relative
        if source.is_dir():  # a run folder's glue.json only where its fine-tune is this study's (glue_results)
            shutil.copytree(source, staging / relative, dirs_exist_ok=True,
                            ignore=lambda folder, names: [GLUE_FILE] if GLUE_FILE in names else [])
        elif source.is_file():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staging / relative)
    provisional = _provisional_analysis(cfg, staging, missing, root) if missing else None
    glue = _provisional_glue(cfg, staging) if missing else None
    write_json(staging / META, {"name": name, "profile": cfg.profile, "note": note,
                                "seeds": cfg.train.seeds, "data_source": cfg.data.source,
                                "commit": _commit(root), "complete": not missing,
                                "missing_runs": [str(path.relative_to(root)) for path in missing],
                                **({} if provisional is None else {"provisional_run_sets": provisional}),
                                **({} if glue is None else {"provisional_glue": glue})})


def _provisional_analysis(cfg: Config, staging: Path, missing: list[Path], root: Path) -> list[str] | None:
    """A partial archive's regime map and zero curves over the run sets already whole (the main runs and
    every arm with all its seeds), by the current code, so a reader sees the study as it stands; the
    run sets analysed, or None while the main runs are unfinished (every cell is read beside them).
    No claim is judged until the archive is complete."""
    from pipeline.analysis.summarize import epoch_curves_table, regime_map, zero_curves_table  # heavy; here only

    gone = {path.relative_to(root) for path in missing}
    if any(RunPaths.for_run(role, seed, Path(".")).metrics.parent in gone for role in ROLES for seed in cfg.train.seeds):
        return None
    whole = [arm for arm in cfg.arms.run
             if not any(RunPaths.for_run(role, seed, Path("."), arm).metrics.parent in gone
                        for role in cfg.arms.defs[arm].roles for seed in cfg.arms.seeds)]
    done = cfg.model_copy(update={"arms": cfg.arms.model_copy(update={"run": whole})})
    outputs = Outputs(staging)
    table, curves = regime_map(done, staging, epoch_curves_table(done, staging))
    for path, frame in ((outputs.regime_map, table), (outputs.plot("regime_curves"), curves),
                        (outputs.plot("sparsity_curves"), zero_curves_table(done, staging))):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.6g")
    return ["main", *whole]


def _provisional_glue(cfg: Config, staging: Path) -> dict[str, list[int] | bool] | None:
    """A partial archive's GLUE comparisons (the summary's GLUE part, :func:`glue_summary`) over the
    fine-tunes it holds: the ``glue.seeds`` finished for both models, the ``glue.scratch_seeds`` finished
    for both, the bag-of-words reference if its stage ran; written to ``metrics/glue_provisional.json``
    so a reader sees the transfer comparisons before pre-training's remaining seeds and arms finish.
    Returns which runs it covers, or None before any seed's two fine-tunes are in. No claim is judged
    from it: the verdicts wait for the complete archive."""
    from pipeline.analysis.summarize import finished_scratch_seeds, glue_summary  # heavy; here only

    seeds = [seed for seed in cfg.glue_seeds if all(RunPaths.for_run(role, seed, staging).glue.is_file() for role in ROLES)]
    if not seeds:
        return None
    done = cfg.model_copy(update={"glue": cfg.glue.model_copy(update={"seeds": seeds})})
    outputs = Outputs(staging)
    write_json(outputs.glue_provisional, glue_summary(done, staging))
    return {"seeds": seeds, "scratch_seeds": finished_scratch_seeds(cfg, staging), "bag_of_words": outputs.glue_bow.is_file()}


def _swap_in(staging: Path, target: Path) -> None:
    """Put the assembled archive at ``target``. At every instant a whole archive is at ``target``, or
    the previous one is whole at ``.NAME.old`` (which :func:`_recover` renames back): the old one is
    deleted only once the new one is in place."""
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)


def archive_run(name: str, root: Path = Path("."), note: str = "", partial: bool = False) -> Path:
    """Archive the finished run in ``root`` to ``root/results/name`` and return that folder (with
    ``partial``, the runs finished so far). Bad input (a name that is not a plain folder name, a
    non-archive in the way, an unfinished run, a concurrent archive run) raises :class:`InputError`
    with nothing under ``results/`` changed."""
    _check_name(name)
    if not (root / "params.yaml").is_file():  # load_config's own message points at --params, which is not ours
        raise MissingInputError(f"{root / 'params.yaml'} not found: run from the project root, or pass --root DIR")
    cfg = load_config(root / "params.yaml")
    run_dirs, missing = _run_dirs(root, cfg, partial)
    glue_results, glue_missing = _glue_results(root, cfg, partial)
    results = root / RESULTS_DIR
    results.mkdir(exist_ok=True)
    with _locked(results):
        target = _check_target(results / name)
        _recover(results)
        staging = results / f".{name}.partial"
        staging.mkdir()
        _assemble(root, cfg, run_dirs, glue_results, missing + glue_missing, staging, name, note)
        _swap_in(staging, target)
    return target


def retire_run(name: str, new_name: str, root: Path = Path(".")) -> Path:
    """Move the archive ``results/name`` to ``results/new_name``, its ``archive.json`` renamed, marked
    superseded by ``name`` (whose re-run goes in next) and keeping when it was made (``created``), and
    return the new folder. Refused, with nothing changed, if ``name`` is not an archive (or is a link) or
    ``new_name`` is taken by anything but this retire's own copy, which a retire killed after renaming
    its copy in left beside ``name``: run again, it finishes by deleting ``name``."""
    _check_name(name)
    _check_name(new_name)
    results = root / RESULTS_DIR
    source, target = results / name, results / new_name
    with _locked(results):
        _recover(results)  # first: an interrupted archive run's .NAME.old goes back to NAME
        if source.is_symlink() or not (source / META).is_file():
            raise MissingInputError(f"{source / META} not found (or {source} is a link): --retire-as moves an "
                                    f"existing archive; archives under {results}: "
                                    f"{[path.name for path in list_archives(results)]}")
        finishing = (target / META).is_file() and not target.is_symlink() and \
            read_json(target / META).get(SUPERSEDED_BY) == name
        if (target.exists() or target.is_symlink()) and not finishing:
            raise InputError(f"--retire-as {new_name!r}: {target} exists; pick another name")
        if not finishing:
            staging = results / f".{new_name}.partial"
            shutil.copytree(source, staging, symlinks=True)
            meta = read_json(source / META)
            created = meta.get("created") or datetime.fromtimestamp(archive_created(source), timezone.utc).isoformat()
            write_json(staging / META, meta | {"name": new_name, SUPERSEDED_BY: name, "created": created})
            staging.rename(target)
        doomed = results / f".{name}.partial"  # hidden at once, deleted after; a leftover is swept by _recover
        source.rename(doomed)
        shutil.rmtree(doomed)
    return target


def restore_run(name: str, root: Path = Path(".")) -> dict:
    """Put archive ``name``'s lock file, metrics and run folders back into the project at ``root``, whose
    params.yaml must be the archive's (``python -m pipeline.profiles PROFILE`` writes it), so that
    ``dvc repro --allow-missing`` resumes the study; returns the archive's ``archive.json``."""
    _check_name(name)
    source = root / RESULTS_DIR / name
    if not (source / META).is_file():
        raise MissingInputError(f"{source / META} not found: name an archive under {root / RESULTS_DIR} "
                                "(python -m pipeline.analysis.archive NAME --partial writes one)")
    meta = read_json(source / META)
    params = root / "params.yaml"
    if not params.is_file() or params.read_bytes() != (source / "params.yaml").read_bytes():
        raise InputError(f"{params} is not the params.yaml archive {name!r} ran with: run "
                         f"`python -m pipeline.profiles {meta['profile']}` first (or compare the two files)")
    for relative in ("dvc.lock",):
        shutil.copy2(source / relative, root / relative)
    for folder in ("metrics", "runs"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, root / folder, dirs_exist_ok=True)
    return meta


def main(argv: list[str] | None = None) -> None:
    """The command line; bad input exits non-zero with a one-line ``error: ...`` (as the stages do)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the archive's folder under results/, e.g. cpu-study")
    parser.add_argument("--note", default="", help="what this run is (device, command, wall time)")
    parser.add_argument("--partial", action="store_true",
                        help="archive the runs finished so far (a study that spans several sittings)")
    parser.add_argument("--restore", action="store_true",
                        help="put archive NAME's lock, metrics and run folders back into --root, to resume it")
    parser.add_argument("--retire-as", metavar="OLD",
                        help="move the existing archive NAME to results/OLD, marked superseded by NAME, before its re-run is archived")
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="project folder holding params.yaml and results/ (default: the current folder)")
    args = parser.parse_args(argv)
    with one_line_errors():
        if args.retire_as:
            target = retire_run(args.name, args.retire_as, root=args.root)
            print(f"moved results/{args.name} to {target}, superseded by {args.name}: now archive the re-run as {args.name}")
            return
        if args.restore:
            meta = restore_run(args.name, root=args.root)
            commit, here = meta.get("commit"), _commit(args.root)
            if commit and here != commit:
                print(f"warning: the archive ran at commit {commit}, this checkout is at {here}: stages whose "
                      f"code changed since will re-run; `git checkout {commit}` first to resume it as it ran")
            print(f"restored {args.name} into {args.root}: now `dvc repro tokenize` (rebuilds the data) and "
                  "`dvc repro --allow-missing` (skips the finished stages)")
            return
        target = archive_run(args.name, root=args.root, note=args.note, partial=args.partial)
    print(f"archived to {target}")


if __name__ == "__main__":
    main()
