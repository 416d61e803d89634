"""``python -m pipeline.bench.devicecheck [prepare|run]``: the device check's command line.

``prepare`` writes the short training's tokens into ``--dir`` (from ``--data``); ``run`` (the
default) measures every section under its time limit and writes one JSON file (``--out``), updated
after every item.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from functools import partial
from pathlib import Path

import torch

from pipeline.bench.devicecheck.device import Device
from pipeline.bench.devicecheck.presets import PRESETS, SHARED_DATA, CheckContext, CheckPaths, check_config
from pipeline.bench.devicecheck.record import CheckRecord
from pipeline.errors import one_line_errors

# The sections in the order they run, each with its time limit in seconds (--<section>-s): they sum
# to 280 s. Compilation runs last: the longest (two compilations of the 132M model, roughly a minute
# each) and the likeliest to fail.
TIME_LIMITS_S = {"throughput": 25.0, "train": 60.0, "decode": 40.0, "memory": 15.0, "throughput_compiled": 140.0}
# No section runs past this many seconds from the start of the run (each gets at most what is left
# of it): with the imports and CUDA's start-up before it, the command ends within 5 minutes.
TOTAL_S = 285.0


def _option(section: str) -> str:
    return f"--{section.replace('_', '-')}-s"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.devicecheck",
        description="A short, offline check of the GPU paths: training tokens/s and MFU (eager and compiled), a "
                    "short training on real tokens, decode latency and memory of FP32 / fake-quantized / packed "
                    "ternary. Run `prepare` first (where ../shared/data is), then `run` on the device.")
    parser.add_argument("command", nargs="?", choices=["run", "prepare"], default="run",
                        help="prepare: write the training tokens into --dir; run (default): measure")
    parser.add_argument("--dir", type=Path, default=Path("devicecheck"),
                        help="the check's folder, git-ignored (default: devicecheck)")
    parser.add_argument("--data", type=Path, default=SHARED_DATA,
                        help="prepare: the real data (default: ../shared/data)")
    parser.add_argument("--out", type=Path, help="the JSON file (default: DIR/devicecheck.json)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="paper",
                        help="paper: the 132M model (default); tiny: every section in seconds on a CPU (tests)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--sections", nargs="+", choices=list(TIME_LIMITS_S), default=list(TIME_LIMITS_S),
                        metavar="SECTION", help=f"run only these (default: all of {', '.join(TIME_LIMITS_S)})")
    parser.add_argument("--train-steps", type=int, help="steps of the short training (default: the preset's)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    for section, seconds in TIME_LIMITS_S.items():
        parser.add_argument(_option(section), type=float, default=seconds, metavar="SECONDS", dest=f"limit_{section}",
                            help=f"time limit of the {section} section (default: {seconds:g})")
    parser.add_argument("--total-s", type=float, default=TOTAL_S, metavar="SECONDS",
                        help=f"time limit of the whole run; no section runs past it (default: {TOTAL_S:g})")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, argv: list[str]) -> CheckRecord:
    """Every selected section, in order, into one JSON file; returns the record."""
    from pipeline.bench.devicecheck.sections import SECTIONS  # here: --help and prepare need none of it

    started = time.perf_counter()
    device = Device.resolve(args.device)
    torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    paths = CheckPaths(args.dir)
    ctx = CheckContext(cfg=check_config(preset), preset=preset, device=device, paths=paths, threads=args.threads,
                       seed=args.seed, train_steps=args.train_steps or preset.train_steps)
    limits = {section: getattr(args, f"limit_{section}") for section in TIME_LIMITS_S}
    header = {"command": shlex.join(["python", "-m", "pipeline.bench.devicecheck", *argv]),
              "environment": device.facts(), "config": ctx.describe(),
              "time_limits_s": limits | {"total": args.total_s}}
    record = CheckRecord(args.out or paths.result, header, list(TIME_LIMITS_S), args.sections)
    device.release()
    for name in [name for name in TIME_LIMITS_S if name in args.sections]:
        limit = min(limits[name], args.total_s - (time.perf_counter() - started))
        section = record.run_section(name, limit, partial(SECTIONS[name], ctx),
                                     cleanup=partial(device.release, compiled=name == "throughput_compiled"))
        print(_summary(name, section), flush=True)
    record.finish(time.perf_counter() - started)
    print(f"wrote {record.path}")
    return record


# What each section's one-line summary shows per item (an item without these fields shows its status).
_HEADLINE = {"throughput": "{tokens_per_s:,.0f} tok/s", "throughput_compiled": "{tokens_per_s:,.0f} tok/s",
             "train": "val loss {val_loss_start:.3f} -> {val_loss_end:.3f}", "decode": "{ms_per_token:.2f} ms/token",
             "memory": "{weights_mb:.1f} MB weights"}


def _headline(name: str, result: dict) -> str:
    if result["status"] != "ok":
        return result["status"]
    try:
        return _HEADLINE[name].format_map(result)
    except (KeyError, TypeError, ValueError):  # a field missing, or null (a CPU's memory)
        return result["status"]


def _summary(name: str, section: dict) -> str:
    items = [f"{item} {_headline(name, result)}" for item, result in section.get("results", {}).items()]
    failed = section.get("failure")
    detail = f"{failed['type']}: {failed['message']}" if failed else "; ".join(items)
    return f"{name:20s} {section['status']:8s} {section.get('seconds', 0):6.1f} s  {detail}"


def main(argv: list[str] | None = None) -> CheckRecord | dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    with one_line_errors():
        if args.command == "prepare":
            from pipeline.bench.devicecheck.prepare import prepare

            counts = prepare(CheckPaths(args.dir), args.data)
            print(f"wrote {args.dir}: {counts['train_tokens']:,} training and {counts['val_tokens']:,} validation "
                  f"tokens ({counts['tokenizer']}, vocabulary {counts['vocab_size']:,})")
            return counts
        return run(args, argv)


if __name__ == "__main__":
    main()
