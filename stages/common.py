"""What every stage entry point shares: the --params argument and a clean exit on bad input."""

from __future__ import annotations

import argparse
import time
from typing import Callable

from pipeline.config import Config, load_config
from pipeline.errors import one_line_errors
from pipeline.io import write_json
from pipeline.layout import STAGE_SECONDS_KEY, Outputs


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def main(description: str, body: Callable[[Config, argparse.Namespace], None],
         extra: Callable[[argparse.ArgumentParser], None] | None = None,
         timing_name: Callable[[argparse.Namespace], str] | None = None) -> None:
    """Parse arguments, validate params once, run ``body``. Bad input (:class:`InputError`: params,
    data files, hub access) exits non-zero with its one-line message; anything else is a bug and
    keeps its traceback.

    With ``timing_name``, the wall time of ``body`` goes to ``metrics/timing/<name>.json`` (the
    report's provenance section lists it).
    """
    p = parser(description)
    if extra is not None:
        extra(p)
    args = p.parse_args()
    started = time.perf_counter()
    with one_line_errors():
        body(load_config(args.params), args)
    if timing_name is not None:
        write_json(Outputs().timing(timing_name(args)), {STAGE_SECONDS_KEY: time.perf_counter() - started})
