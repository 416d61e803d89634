"""Render the report: execute the notebook with papermill, strip what changes from one execution to
the next, write the executed notebook and its HTML (nbconvert, inputs hidden). Re-running on
unchanged inputs gives identical bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.io import write_text


def strip_volatile(notebook: Any) -> None:
    """Remove, in place, the timestamps, durations, execution counts and random cell ids that papermill
    and nbclient record, and stderr output (warnings naming local paths and library versions: noise,
    not report content), so that the bytes depend on the inputs alone."""
    notebook.metadata.pop("papermill", None)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # papermill gives its injected-parameters cell a random id
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.outputs = [out for out in cell.get("outputs", []) if out.get("name") != "stderr"]
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = None


def render_report(notebook_in: Path, notebook_out: Path, html_out: Path, parameters: dict[str, Any], cwd: Path) -> None:
    """Execute ``notebook_in`` with ``parameters`` (in ``cwd``) into ``notebook_out`` and render ``html_out``."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    executed = papermill.execute_notebook(str(notebook_in), None, parameters=parameters, cwd=str(cwd),
                                          progress_bar=False, log_output=False, kernel_name="python3")
    strip_volatile(executed)
    write_text(notebook_out, nbformat.writes(executed) + "\n")
    body, _ = HTMLExporter(exclude_input=True).from_notebook_node(executed)
    write_text(html_out, body)
