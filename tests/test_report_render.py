"""Rendering: what papermill and nbclient record per execution is stripped, the content is kept."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from pipeline.analysis.report.render import strip_volatile


def _executed():
    code = new_code_cell("print(1)", execution_count=7)
    code.metadata.update({"papermill": {"duration": 0.5}, "execution": {"iopub.execute_input": "2025-01-01"},
                          "tags": ["parameters"]})
    code.outputs = [new_output("stream", name="stdout", text="1\n"),
                    new_output("stream", name="stderr", text="/home/x/site-packages: FutureWarning\n"),
                    new_output("execute_result", data={"text/plain": "2"}, execution_count=7)]
    text = new_markdown_cell("# Report")
    text.metadata["papermill"] = {"status": "completed"}
    notebook = new_notebook(cells=[code, text])
    notebook.metadata["papermill"] = {"start_time": "2025-01-01T00:00:00"}
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return notebook


def test_strip_volatile_keeps_content_and_drops_what_changes_per_run():
    notebook = _executed()
    strip_volatile(notebook)
    code, text = notebook.cells
    assert "papermill" not in notebook.metadata and notebook.metadata["kernelspec"]["name"] == "python3"
    assert [cell.id for cell in notebook.cells] == ["cell-0", "cell-1"]
    assert code.metadata == {"tags": ["parameters"]} and text.metadata == {}
    assert code.execution_count is None
    assert [out.get("name") for out in code.outputs] == ["stdout", None]  # stderr dropped
    assert code.outputs[1]["execution_count"] is None and code.outputs[1]["data"] == {"text/plain": "2"}
    nbformat.validate(notebook)


def test_stripping_twice_executed_notebooks_gives_identical_bytes():
    first, second = _executed(), _executed()
    second.cells[0].execution_count = 99
    second.metadata["papermill"]["start_time"] = "2026-06-01T12:00:00"
    for notebook in (first, second):
        strip_volatile(notebook)
    assert nbformat.writes(first) == nbformat.writes(second)
