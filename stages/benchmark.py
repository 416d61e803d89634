"""DVC stage `benchmark`: weight memory per format and decode latency, studied vs FP32, one run."""

from pipeline.bench import run_benchmark
from pipeline.io import write_json
from pipeline.paper import PAPER_ARCH
from pipeline.layout import RunPaths
from stages.common import main


def run(cfg, args) -> None:
    seed = cfg.train.seeds[0]  # the first seed's checkpoints; timings do not depend on the seed
    results = run_benchmark(RunPaths.for_run("studied", seed).model, RunPaths.for_run("baseline", seed).model,
                            cfg.benchmark, PAPER_ARCH if cfg.benchmark.paper_arch else None)
    write_json("metrics/benchmark.json", results)


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "benchmark")
