"""What every stage entry point shares: the --params argument and a clean exit on bad input."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from pipeline.config import Config, ConfigError, load_config
from pipeline.data.hub import HubUnavailableError


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def main(description: str, body: Callable[[Config, argparse.Namespace], None],
         extra: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Parse arguments, validate params once, run ``body``; known input errors exit with a message."""
    p = parser(description)
    if extra is not None:
        extra(p)
    args = p.parse_args()
    try:
        body(load_config(args.params), args)
    except (ConfigError, HubUnavailableError, FileNotFoundError) as exc:
        sys.exit(f"error: {exc}")
