"""DVC stage `validate`: the gate every other stage depends on.

It depends on the whole of params.yaml and validates it (pipeline/config.py) before any other
stage's command line is built and run: seeds and arm names reach command lines through dvc.yaml's
foreach/matrix (DVC runs them in a shell) and paths under models/ and runs/, so they must be safe
before anything runs them. A bad value stops `dvc repro` here with one line naming the key.

Its output is the same bytes for every valid params file, so passing the gate never invalidates a
downstream stage; editing params re-runs only this check and the stages that read the edited keys.
"""

from pipeline.io import write_json
from pipeline.layout import Outputs
from stages.common import main

CHECKED = "params.yaml is valid: every section, every cross-section rule, and every value that reaches a command line"


def run(cfg, args) -> None:
    write_json(Outputs().params_check, {"checked": CHECKED})


if __name__ == "__main__":
    main(__doc__, run, timing_name=lambda args: "validate")
