"""Bad input, table-driven: every case is rejected before any training with one message that names
the file (row, column, byte) or the params key; good variants load to the same stories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_config
from pipeline.data.glue import load_glue_data_tsv
from pipeline.data.tinystories import load_local_stories, parse_story_text
from pipeline.errors import InputError
from tests.conftest import PROJECT_ROOT, deep_update, raw_params

STORIES = ["Once upon a time, there was a cat.\nThe cat was happy.", "Tom had a red ball. He liked to play."]
CLEAN = "".join(f"{story}\n<|endoftext|>\n" for story in STORIES)


def _params_text(overrides: dict) -> str:
    return yaml.safe_dump(deep_update(raw_params(), overrides), sort_keys=False)


def _replace(old: str, new: str):
    return lambda: (PROJECT_ROOT / "params.yaml").read_text().replace(old, new, 1)


# (name, params file text, what the message must contain)
PARAMS_CASES = [
    ("yaml syntax", lambda: "data:\n  source: [local\n", ["YAML syntax error", ":3:"]),
    ("duplicate key", _replace("    lr: 0.002\n", "    lr: 0.002\n    lr: 0.01\n"), ["'lr' appears twice", "line"]),
    ("infinite lr", lambda: _params_text({"train": {"optimizer": {"lr": float("inf")}}}), ["train.optimizer.lr", "finite"]),
    ("nan lr", lambda: _params_text({"train": {"optimizer": {"lr": float("nan")}}}), ["train.optimizer.lr"]),
    ("bool batch size", lambda: _params_text({"train": {"batch_size": True}}), ["train.batch_size", "integer"]),
    ("string batch size", lambda: _params_text({"train": {"batch_size": "32"}}), ["train.batch_size"]),
    ("fractional epochs", lambda: _params_text({"train": {"epochs": 1.5}}), ["train.epochs"]),
    ("duplicate tasks", lambda: _params_text({"glue": {"tasks": ["mrpc", "mrpc"]}}), ["glue", "distinct"]),
    ("unknown quantizer", lambda: _params_text({"model": {"quant": "ternery"}}), ["model.quant", "'ternary'"]),
    ("dropout of 1", lambda: _params_text({"model": {"arch": {"dropout": 1.0}}}), ["model.arch.dropout"]),
    ("unknown masking", lambda: _params_text({"model": {"baseline": {"attention": "none"}}}), ["model.baseline.attention"]),
    ("unknown arm", lambda: _params_text({"arms": {"run": ["nope"]}}), ["arms", "not defined"]),
    ("arm changes a missing key", lambda: _params_text({"arms": {"defs": {"x": {"roles": ["studied"], "note": "n",
                                                                             "changes": {"train.lrr": 1.0}}}}}),
     ["arms.defs.x.changes", "'train.lrr' is not a params key"]),
    ("unknown source", lambda: _params_text({"data": {"source": "s3"}}), ["data.source"]),
    ("not a mapping", lambda: "- data\n- model\n", ["expected a mapping"]),
    ("empty file", lambda: "", ["expected a mapping"]),
    ("repeated seeds", lambda: _params_text({"train": {"seeds": [0, 0]}}), ["train", "distinct"]),
    ("three betas", lambda: _params_text({"train": {"optimizer": {"betas": [0.9, 0.98, 0.5]}}}), ["train.optimizer.betas"]),
]


@pytest.mark.parametrize("name, text, expected", PARAMS_CASES, ids=[case[0] for case in PARAMS_CASES])
def test_bad_params_are_named_in_one_line(tmp_path, name, text, expected):
    path = tmp_path / "params.yaml"
    path.write_text(text())
    with pytest.raises(InputError) as error:
        load_config(path)
    message = str(error.value)
    assert all(part in message for part in expected), message
    assert "\n" not in message


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


STORY_CASES = [
    ("blank-line format with one separator", "\n\n".join(STORIES * 3000) + "\n<|endoftext|>\n", None,
     ["story 1 has", "another separator"]),
    ("no separator at all", "\n\n".join(STORIES), None, ["no complete story"]),
    ("another encoding", "Once upon a time, a café.\n<|endoftext|>\n".encode("cp1252"), None,
     ["not UTF-8", "byte 23", "iconv"]),
    ("more stories asked than held", CLEAN, 5, ["data.max_train_stories is 5", "holds 2 complete stories"]),
    ("empty file", "", None, ["no complete story"]),
    ("only a cut-off fragment", "Once upon a time, there was", None, ["no complete story"]),
]


@pytest.mark.parametrize("name, content, limit, expected", STORY_CASES, ids=[case[0] for case in STORY_CASES])
def test_bad_story_files_are_named(tmp_path, name, content, limit, expected):
    path = _write(tmp_path / "stories.txt", content)
    with pytest.raises(InputError) as error:
        load_local_stories(path, limit)
    assert "stories.txt" in str(error.value) or "data.max" in str(error.value)
    assert all(part in str(error.value) for part in expected), str(error.value)


def test_missing_story_file_names_the_key(tmp_path):
    with pytest.raises(InputError, match="data.local.tinystories_train"):
        load_local_stories(tmp_path / "nope.txt")


@pytest.mark.parametrize("variant", ["crlf", "bom", "hub export", "bom and crlf"])
def test_good_variants_load_the_same_stories(tmp_path, variant):
    text = {"crlf": CLEAN.replace("\n", "\r\n"), "bom": "\ufeff" + CLEAN,
            "hub export": "".join(f"{story.replace(chr(10), chr(10) * 2)}\n<|endoftext|>\n" for story in STORIES),
            "bom and crlf": "\ufeff" + CLEAN.replace("\n", "\r\n")}[variant]
    clean = load_local_stories(_write(tmp_path / "clean.txt", CLEAN))
    assert load_local_stories(_write(tmp_path / "variant.txt", text)).stories == clean.stories == STORIES


def test_dropped_fragment_is_counted():
    parsed = parse_story_text(CLEAN + "Once upon a ti")
    assert parsed.stories == STORIES and parsed.dropped_fragment_chars == len("Once upon a ti")


MRPC_HEADER = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
GLUE_CASES = [
    ("sst2", "sentence\tlabel\na fine film\t1\na dull film\t2\n", ["row 3", "label 2 is outside"]),
    ("sst2", "sentence\tlabel\na fine film\tpositive\n", ["row 2", "'positive' is not an integer"]),
    ("sst2", "sentence\tlabel\na fine film\t1\textra\n", ["row 2", "3 tab-separated columns, expected 2"]),
    ("sst2", "sentence\tlabel\n", ["no data rows after the header"]),
    ("sst2", "", ["expected the sst2 header"]),
    ("sst2", "\t1\n", ["row 1", "expected the sst2 header"]),
    ("sst2", "sentence\tlabel\n\t1\n", ["row 2", "empty text"]),
    ("mrpc", MRPC_HEADER + "1\t1\t2\tA sentence.\n", ["row 2", "4 tab-separated columns, expected 5"]),
    ("mrpc", MRPC_HEADER + "1\t1\t2\tA sentence.\t\n", ["row 2", "column 5: empty text"]),
    ("cola", "", ["no data rows"]),
    ("cola", "gj04\t1\t\tThe sailors rode the breeze.\ngj04\t-1\t*\tThe sailors rode.\n", ["row 2", "label -1"]),
]


@pytest.mark.parametrize("task, content, expected", GLUE_CASES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(GLUE_CASES)])
def test_bad_glue_rows_are_named(tmp_path, task, content, expected):
    folder = {"mrpc": "MRPC", "sst2": "SST-2", "cola": "CoLA"}[task]
    _write(tmp_path / folder / "train.tsv", content)
    with pytest.raises(InputError) as error:
        load_glue_data_tsv(tmp_path, task, "train")
    message = str(error.value)
    assert "train.tsv" in message and all(part in message for part in expected), message


def test_missing_glue_file_names_the_key(tmp_path):
    with pytest.raises(InputError, match="data.local.glue_dir"):
        load_glue_data_tsv(tmp_path, "mrpc", "dev")


def test_a_plain_checkpoint_is_not_taken_for_a_packed_one(tmp_path):
    from pipeline.model.checkpoint import save_model
    from pipeline.config import ArchConfig
    from pipeline.inference.packed import load_packed
    from pipeline.model.transformer import TransformerLM

    path = tmp_path / "plain.safetensors"
    save_model(path, TransformerLM(ArchConfig.from_name("micro"), 32), {})
    with pytest.raises(InputError, match="plain.safetensors is not a packed"):
        load_packed(path)


def _stage(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("name", ["duplicate key", "bool batch size", "yaml syntax"])
def test_stages_print_bad_params_in_one_line_without_traceback(tmp_path, name):
    text = next(case[1] for case in PARAMS_CASES if case[0] == name)
    (tmp_path / "params.yaml").write_text(text())
    done = _stage(["stages.prepare"], tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_stages_print_a_bad_data_file_in_one_line(tmp_path):
    _write(tmp_path / "glue" / "SST-2" / "train.tsv", "sentence\tlabel\na fine film\t2\n")
    params = deep_update(raw_params(), {"data": {"source": "local", "local": {
        "tinystories_train": str(_write(tmp_path / "train.txt", CLEAN)),
        "tinystories_val": str(_write(tmp_path / "val.txt", CLEAN)), "glue_dir": str(tmp_path / "glue")}},
        "glue": {"tasks": ["sst2"]}})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    done = _stage(["stages.prepare"], tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "SST-2/train.tsv, row 2, column 2: label 2 is outside (0, 1)" in done.stderr


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    """Only InputError is turned into a one-line exit: any other exception is a bug."""
    from stages import common

    monkeypatch.setattr(sys, "argv", ["stage", "--params", str(PROJECT_ROOT / "params.yaml")])

    def buggy(cfg, args):
        raise ValueError("a shape mismatch inside the library")

    with pytest.raises(ValueError, match="shape mismatch"):
        common.main("doc", buggy)
