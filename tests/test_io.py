"""pipeline/io.py: outputs are written whole or not at all, JSON is byte-stable, text is UTF-8."""

from __future__ import annotations

import math
import os

import pytest

from pipeline.errors import InputError
from pipeline.io import atomic_path, read_json, read_jsonl, read_text_file, write_json, write_jsonl, write_text


def test_an_atomic_write_replaces_the_file_in_one_rename_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    write_text(target, "first")
    write_text(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]
    assert oct(os.stat(target).st_mode & 0o777) == "0o644"


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "out.txt"
    write_text(target, "kept")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "kept" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_json_is_sorted_indented_and_nan_becomes_null(tmp_path):
    write_json(tmp_path / "a.json", {"b": math.nan, "a": [1.5, math.inf], "c": {"z": 1, "y": -math.inf}})
    assert (tmp_path / "a.json").read_text() == (
        '{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": null,\n  "c": {\n    "y": null,\n    "z": 1\n  }\n}\n')
    assert read_json(tmp_path / "a.json") == {"a": [1.5, None], "b": None, "c": {"y": None, "z": 1}}


def test_jsonl_round_trips_unicode(tmp_path):
    rows = [{"text": "café", "label": 1}, {"text": "naïve", "label": 0}]
    write_jsonl(tmp_path / "rows.jsonl", rows)
    assert read_jsonl(tmp_path / "rows.jsonl") == rows
    assert "café" in (tmp_path / "rows.jsonl").read_text(encoding="utf-8")


def test_text_files_drop_a_bom_and_name_a_foreign_encoding(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeffhello".encode("utf-8"))
    assert read_text_file(tmp_path / "bom.txt") == "hello"
    (tmp_path / "latin.txt").write_bytes("abc é".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin.txt: not UTF-8 \(byte 4 is 0xe9\).*iconv -f ENCODING"):
        read_text_file(tmp_path / "latin.txt")
