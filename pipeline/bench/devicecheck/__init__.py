"""The device check: one short, offline command that runs the project's GPU paths on a lent GPU and
records what they measure, in one JSON file (issue 25).

``python -m pipeline.bench.devicecheck prepare`` (where ``../shared/data`` is) writes the training
tokens into ``devicecheck/``; ``python -m pipeline.bench.devicecheck`` then runs these sections, each
under its own time limit (the defaults sum to 280 s; the run stops at 285 s): ``throughput`` and
``throughput_compiled`` (training tokens/s and MFU of the ternary model and its FP32 twin in bf16
autocast, eager and ``torch.compile``), ``train`` (the ternary model on real tokens, loss before and
after), ``decode`` (batch-1 latency of FP32 / fake-quantized / packed ternary) and ``memory``
(their device memory). ``--preset tiny`` runs it all on a CPU in seconds.

The JSON file::

    command, environment (device, device_name, torch, cuda, ...), config, time_limits_s
    sections: {name: {status: ok | partial | failed | skipped | pending, limit_s, seconds,
                      results: {item: {status, seconds, <measurements>, failure?, reason?}},
                      failure?}}
    complete, seconds (written when the run ends)

A failure is ``{type, message, traceback_tail}``. Modules: ``__main__`` (the command line),
``presets`` (sizes and the project config), ``prepare``, ``sections`` (the measurements), ``record``
(the file, time limits, failures), ``device`` (every CUDA-only branch, listed in its docstring).
"""
