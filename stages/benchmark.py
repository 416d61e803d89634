"""DVC stage `benchmark`: weight memory per format and decode latency, studied vs FP32, one run."""

from pipeline.bench.benchmark import run_benchmark
from pipeline.io import atomic_path, write_json
from pipeline.paper import PAPER_ARCH
from pipeline.layout import Outputs, RunPaths
from stages.common import main


def run(cfg, args) -> None:
    seed = cfg.train.seeds[0]  # the first seed's checkpoints; timings do not depend on the seed
    about, table = run_benchmark(RunPaths.for_run("studied", seed).model, RunPaths.for_run("baseline", seed).model,
                                 cfg.benchmark, PAPER_ARCH if cfg.benchmark.paper_arch else None)
    outputs = Outputs()
    with atomic_path(outputs.benchmark_table) as tmp:
        table.frame().to_csv(tmp, index=False, float_format="%.6g")
    write_json(outputs.metrics("benchmark"), about | table.flat())


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "benchmark")
