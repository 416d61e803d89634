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
    # values that reach command lines (dvc.yaml's foreach / matrix) and paths
    ("shell in a seed", lambda: _params_text({"train": {"seeds": ["0;touch M;#"]}}), ["train.seeds.0", "integer"]),
    ("negative seed", lambda: _params_text({"arms": {"seeds": [-1]}}), ["arms.seeds.0"]),
    ("shell in an arm name", lambda: _params_text({"arms": {"run": ["x;touch M;#"]}}),
     ["arms.run.0", "not a safe arm name"]),
    ("arm name leaving the repository", lambda: _params_text({"arms": {"defs": {"../x": _ARM}}}),
     ["arms.defs", "'../x' is not a safe arm name"]),
    ("arm name with a space", lambda: _params_text({"arms": {"defs": {"my arm": _ARM}}}), ["'my arm' is not a safe"]),
    ("arm name with @", lambda: _params_text({"arms": {"defs": {"a@b": _ARM}}}), ["'a@b' is not a safe"]),
    # arms change only what an arm run reads
    ("arm changes the tokenizer", lambda: _params_text({"arms": {"defs": {"x": _arm({"tokenizer.vocab_size": 99})}}}),
     ["arm 'x' changes 'tokenizer.vocab_size'", "model.* and train.*"]),
    ("arm changes the data", lambda: _params_text({"arms": {"defs": {"x": _arm({"data.source": "local"})}}}),
     ["arm 'x' changes 'data.source'"]),
    ("arm changes the seeds", lambda: _params_text({"arms": {"defs": {"x": _arm({"train.seeds": [5]})}}}),
     ["arm 'x' changes 'train.seeds'"]),
    ("arm changes the fine-tune", lambda: _params_text({"arms": {"defs": {"x": _arm({"glue.epochs": 9})}}}),
     ["arm 'x' changes 'glue.epochs'"]),
    # cross-section checks that used to fire after pre-training
    ("glue longer than learned positions", lambda: _params_text({"model": {"baseline": {"positions": "learned"}},
                                                                 "glue": {"max_len": 65}}),
     ["glue.max_len (65)", "model.arch.seq_len (64)", "baseline"]),
]


def _arm(changes: dict) -> dict:
    return {"roles": ["studied"], "note": "n", "changes": changes}


_ARM = _arm({})


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
    ("sst2", "sentence\tlabel\na fine film\t\u00b2\n", ["row 2", "is not an integer"]),  # a digit int() refuses
    ("sst2", "sentence\tlabel\na fine\x0cfilm\t1\na dull film\tx\n", ["row 3", "'x' is not an integer"]),
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


@pytest.mark.parametrize("row, expected", [
    ({"sentence": "a fine film", "label": None}, "label None is not one of"),
    ({"sentence": "a fine film", "label": -1}, "label -1 is not one of"),
    ({"sentence": "a fine film", "label": True}, "label True is not one of"),
    ({"sentence": None, "label": 1}, "missing or empty text"),
    ({"sentence": "  ", "label": 0}, "missing or empty text"),
])
def test_bad_hub_rows_are_named(row, expected):
    """Parquet or hub rows (nyu-mll/glue's layout) with a hidden, missing or odd label or no text."""
    from pipeline.data.glue import _rows_to_examples

    with pytest.raises(InputError) as error:
        _rows_to_examples([{"sentence": "fine", "label": 1}, row], "sentence", None, "label", "glue/sst2 (train)")
    assert "glue/sst2 (train), row 2" in str(error.value) and expected in str(error.value)


def test_a_short_eval_budget_is_blamed_on_the_base_params_not_an_arm(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(_params_text({"train": {"eval_tokens": 8}}))
    with pytest.raises(InputError) as error:
        load_config(path)
    assert "train.eval_tokens (8)" in str(error.value) and "arm" not in str(error.value)


def test_params_that_are_not_utf8_are_named(tmp_path):
    path = _write(tmp_path / "params.yaml", _params_text({}).replace("profile:", "# caf\u00e9\nprofile:").encode("cp1252"))
    with pytest.raises(InputError, match=r"params.yaml: not UTF-8 \(byte \d+ is 0xe9\)"):
        load_config(path)


def test_a_utf16_file_gets_the_utf16_advice(tmp_path):
    path = _write(tmp_path / "stories.txt", CLEAN.encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16 byte-order mark; convert it: iconv -f utf-16"):
        load_local_stories(path)


def test_an_unreadable_data_file_is_named(tmp_path):
    (tmp_path / "stories.txt").mkdir()  # a folder where a file is expected: reading it fails
    with pytest.raises(InputError, match="stories.txt"):
        load_local_stories(tmp_path / "stories.txt")


def test_the_same_file_for_training_and_validation_is_refused(tmp_path):
    from pipeline.data.prepare import load_corpus

    stories = _write(tmp_path / "stories.txt", CLEAN)
    (tmp_path / "link.txt").symlink_to(stories)
    params = deep_update(raw_params(), {"data": {"source": "local", "local": {
        "tinystories_train": str(stories), "tinystories_val": str(tmp_path / "link.txt"), "glue_dir": str(tmp_path)}}})
    cfg = load_config(_write(tmp_path / "params.yaml", yaml.safe_dump(params)))
    with pytest.raises(InputError, match="tinystories_train and data.local.tinystories_val are the same file"):
        load_corpus(cfg.data, cfg.glue.tasks)


def test_a_vocabulary_too_small_for_the_corpus_is_refused_before_encoding():
    from pipeline.data.tokenize import wordpiece_vocabulary

    with pytest.raises(InputError, match=r"tokenizer.vocab_size 3 is below the \d+ entries .* raise it to at least"):
        wordpiece_vocabulary(STORIES, 3)


def test_a_validation_split_shorter_than_one_window_stops_before_training(tmp_path, tiny_config):
    import numpy as np

    from pipeline.data.tokens import save_tokens
    from pipeline.io import write_json
    from pipeline.layout import RunPaths
    from pipeline.training.train import train_language_model

    tokens = tmp_path / "tokens"
    save_tokens(tokens / "train.npy", np.arange(4096, dtype=np.uint16) % 50)
    save_tokens(tokens / "val.npy", np.arange(10, dtype=np.uint16))
    write_json(tokens / "tokens.json", {"vocab_size": 50, "train_fingerprint": "x"})
    with pytest.raises(InputError, match="validation split holds no sequence of 32 tokens"):
        train_language_model(tiny_config, "studied", 0, tokens, RunPaths.for_run("studied", 0, tmp_path))
    assert not (tmp_path / "checkpoints").exists()  # stopped before the first step


def test_the_profile_tool_names_a_missing_params_file(tmp_path):
    done = _stage(["pipeline.profiles", "default", "--params", str(tmp_path / "nope.yaml")], tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: --params {tmp_path / 'nope.yaml'} not found: run from the project root " \
                                  f"(where params.yaml is) or pass the path of a params file"


def _export_cli(tmp_path: Path, checkpoint: Path, tokenizer: Path) -> subprocess.CompletedProcess:
    return _stage(["pipeline.inference.export", str(checkpoint), "--tokenizer", str(tokenizer),
                   "--out", str(tmp_path / "m.gguf")], tmp_path)


@pytest.fixture
def trained_model(tmp_path) -> tuple[Path, Path]:
    """A tiny model checkpoint and a tokenizer of a different vocabulary size."""
    from pipeline.config import ArchConfig
    from pipeline.data.tokenizer import bert_uncased
    from pipeline.model.checkpoint import save_model
    from pipeline.model.transformer import TransformerLM

    save_model(tmp_path / "model.safetensors", TransformerLM(ArchConfig.from_name("micro"), 32), {})
    bert_uncased({token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])}).save(
        str(tmp_path / "tokenizer.json"))
    return tmp_path / "model.safetensors", tmp_path / "tokenizer.json"


@pytest.mark.parametrize("damage, expected", [
    (lambda path: path.write_bytes(path.read_bytes()[:200]), "is unreadable"),
    (lambda path: path.write_bytes(b""), "is unreadable"),
    (lambda path: __import__("safetensors.torch").torch.save_file({"w": __import__("torch").zeros(2)}, str(path)),
     "not a checkpoint of this pipeline"),
    (lambda path: _swap_weights(path), "weights do not fit the architecture"),
    (lambda path: None, "has 6 tokens but the model's head has 32"),  # not the tokenizer it was trained with
    (lambda path: (path.parent / "tokenizer.json").write_text("{not json"), "tokenizer"),
], ids=["truncated", "empty", "foreign", "mismatched weights", "mismatched tokenizer", "unreadable tokenizer"])
def test_the_export_cli_names_a_bad_checkpoint_in_one_line(tmp_path, trained_model, damage, expected):
    checkpoint, tokenizer = trained_model
    damage(checkpoint)
    done = _export_cli(tmp_path, checkpoint, tokenizer)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert expected in done.stderr
    assert not (tmp_path / "m.gguf").exists()


def _swap_weights(path: Path) -> None:
    """The header of one model over the weights of a wider one."""
    from safetensors.torch import load_file, safe_open, save_file

    with safe_open(str(path), framework="pt") as handle:
        header = handle.metadata()
    tensors = load_file(str(path))
    tensors["embed.weight"] = tensors["embed.weight"].repeat(1, 2)
    save_file(tensors, str(path), metadata=header)


@pytest.mark.parametrize("arm", ["../x", "a b", "x;touch M;#"])
def test_the_train_stage_refuses_an_arm_name_outside_the_params_before_writing(tmp_path, arm):
    (tmp_path / "params.yaml").write_text((PROJECT_ROOT / "params.yaml").read_text())
    done = _stage(["stages.train", "--arm", arm, "--seed", "0"], tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and "unknown arm" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"] and not (tmp_path.parent / "x").exists()
