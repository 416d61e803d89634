"""Small file helpers: every output is written atomically (temp file + rename), never half-written."""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _finite(data: Any) -> Any:
    """NaN and infinities become null: they are not JSON, and DVC's metrics reader rejects them."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data


def write_json(path: str | Path, data: Any) -> None:
    """Indented, key-sorted JSON, so re-running on unchanged inputs gives identical bytes."""
    write_text(path, json.dumps(_finite(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def print_json(data: Any, out: str | Path | None = None) -> None:
    """A command's result: printed as indented JSON, and written to ``out`` (:func:`write_json`) when given."""
    print(json.dumps(data, indent=2))
    if out:
        write_json(out, data)


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_text_file(path: str | Path) -> str:
    """A UTF-8 text file (a byte-order mark is dropped); another encoding is an InputError naming the
    file and the byte offset, with the fix for the encoding its first bytes show."""
    from pipeline.errors import InputError

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check the path and its permissions") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 (byte {exc.start:,} is 0x{data[exc.start]:02x}): "
                         f"{_reencode_hint(data, path)}") from None


def _reencode_hint(data: bytes, path: Path) -> str:
    """How to re-encode a file as UTF-8: from UTF-16/32 when its byte-order mark says so, otherwise
    from the legacy encoding it was saved in, which the bytes alone cannot name."""
    target = f"{path.stem}.utf8{path.suffix}"
    for bom, name in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                      (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return f"it starts with a {name.upper()} byte-order mark; convert it: iconv -f {name} -t utf-8 {path.name} > {target}"
    return (f"re-encode it as UTF-8 from the encoding it was saved in (often cp1252 or latin-1; `file {path.name}` "
            f"may tell): iconv -f ENCODING -t utf-8 {path.name} > {target}")
