"""The device check's one JSON file, and the time limits and failure records of its sections.

A section is a few items (``ternary`` and ``fp32``, or one per inference format). The file is
written at the start (every section ``pending``) and again, atomically, after every item, so a run
killed from outside still leaves what it measured. An item that raises is recorded (exception
type, message, the end of its traceback, and what it had measured so far) and the next one runs.

Time limits are of two kinds. Each item gets a :class:`Budget` (the section's time left, shared
evenly among its items still to run) that its loops read to stop early; and a hard stop
(``SIGALRM``) at the end of that share raises :class:`TimeLimitExceeded` in whatever was running
(a hung compilation, say). A signal handler runs between Python bytecodes, so a single long CUDA
call is interrupted when it returns.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pipeline.bench.devicecheck.device import Skipped
from pipeline.io import write_json

Item = Callable[["Budget", dict], None]  # fills the dict with its results as it goes
TRACEBACK_LINES = 12


class TimeLimitExceeded(Exception):
    """A section or item ran out of its time limit."""


@dataclass
class Budget:
    """Seconds an item may run, counted from its creation."""

    limit_s: float
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float:
        return self.limit_s - self.elapsed()


@contextmanager
def hard_time_limit(seconds: float, what: str = "the block") -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` inside the block after ``seconds`` (at once if none are
    left); ``what`` names it in the message. Off the main thread, or without ``SIGALRM``, only the
    cooperative budget applies."""
    if seconds <= 0:
        raise TimeLimitExceeded(f"{what}: no time left")

    def stop(signum, frame) -> None:
        raise TimeLimitExceeded(f"{what}: stopped at its hard time limit ({seconds:.1f} s)")

    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return
    started = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, stop)
    outer_s, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_s:  # an enclosing alarm (an outer limit, a test timeout) keeps its own deadline
            signal.setitimer(signal.ITIMER_REAL, max(outer_s - (time.perf_counter() - started), 1e-3))


def failure(exc: BaseException) -> dict:
    """What a failed section or item records: exception type, message and the traceback's last lines."""
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip().splitlines()
    return {"type": type(exc).__name__, "message": str(exc), "traceback_tail": lines[-TRACEBACK_LINES:]}


def section_status(items: dict[str, dict]) -> str:
    """``ok`` (every item that ran succeeded), ``failed`` (none did), ``partial``, or ``skipped``
    (no item ran on this device)."""
    ran = [result["status"] for result in items.values() if result["status"] != "skipped"]
    if not ran:
        return "skipped"
    if all(status == "ok" for status in ran):
        return "ok"
    return "failed" if all(status == "failed" for status in ran) else "partial"


class CheckRecord:
    """The JSON file: ``header`` (environment, config, command), then ``sections`` by name."""

    def __init__(self, path: Path, header: dict, sections: list[str], selected: list[str]) -> None:
        self.path = path
        self.data = {**header, "complete": False,
                     "sections": {name: {"status": "pending" if name in selected else "skipped",
                                         **({} if name in selected else {"reason": "not selected (--sections)"})}
                                  for name in sections}}
        self.write()

    def write(self) -> None:
        write_json(self.path, self.data)

    def run_section(self, name: str, limit_s: float, plan: Callable[[], dict[str, Item]],
                    cleanup: Callable[[], None] = lambda: None) -> dict:
        """Run one section under ``limit_s`` seconds: ``plan()`` (its setup) returns the items, each
        then run with an even share of the time left; return the section's record."""
        section = self.data["sections"][name] = {"status": "running", "limit_s": limit_s, "results": {}}
        budget = Budget(limit_s)
        try:
            with hard_time_limit(budget.left(), f"{name} (time limit {limit_s:g} s)"):
                items = plan()
        except Exception as exc:  # the setup failed (missing tokens, say): no item can run
            section.update(status="failed", failure=failure(exc), seconds=budget.elapsed())
            self.write()
            return section
        for index, (item, run) in enumerate(items.items()):
            share = Budget(budget.left() / (len(items) - index))
            result = section["results"][item] = {"status": "running"}
            try:
                with hard_time_limit(share.left(), f"{name} {item} (its share of the time left)"):
                    run(share, result)
                result["status"] = "ok"
            except Skipped as exc:
                result.update(status="skipped", reason=str(exc))
            except Exception as exc:
                result.update(status="failed", failure=failure(exc))
            finally:
                result["seconds"] = share.elapsed()
                try:
                    cleanup()
                except Exception as exc:  # a broken device context, say: recorded, and the run goes on
                    result["cleanup_failure"] = failure(exc)
                self.write()
        section.update(status=section_status(section["results"]), seconds=budget.elapsed())
        self.write()
        return section

    def finish(self, seconds: float) -> None:
        self.data.update(complete=True, seconds=seconds)
        self.write()
