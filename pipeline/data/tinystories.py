"""TinyStories (roneneldan/TinyStories) from local files or the Hugging Face hub.

Two local formats carry the same dataset: the release's ``TinyStories-*.txt`` (stories separated by
a line ``<|endoftext|>``, single newlines between paragraphs, curly quotes) and exports of the hub
split (each story followed by ``\\n<|endoftext|>\\n``, blank lines between paragraphs, and the hub's
mis-decoded quotes such as ``â€œ``). :func:`normalize_story` maps both to one text.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.data.hub import is_local, require_hub

END_OF_TEXT = "<|endoftext|>"
# UTF-8 bytes of a curly quote or dash (e2 80 xx) decoded as cp1252: "â€" then one character.
_MOJIBAKE = re.compile("\u00e2\u20ac(.)")


def _repair_mojibake(match: re.Match) -> str:
    last = match.group(1)
    try:
        tail = bytes([ord(last)]) if ord(last) < 0x100 else last.encode("cp1252")
        return (b"\xe2\x80" + tail).decode("utf-8")
    except (UnicodeError, ValueError):
        return match.group(0)


def normalize_story(text: str) -> str:
    """One canonical text per story: repaired quotes, one newline between paragraphs, no edges."""
    text = _MOJIBAKE.sub(_repair_mojibake, text)
    # The closing quote's last byte (0x9d) has no cp1252 character and was lost on the hub.
    text = text.replace("\u00e2\u20ac", "\u201d")
    text = re.sub(r"\n\s*\n+", "\n", text.replace("\r\n", "\n"))
    return text.strip()


def parse_story_text(raw: str) -> list[str]:
    """Split an ``<|endoftext|>``-separated text into stories.

    A trailing piece with no ``<|endoftext|>`` after it is a fragment cut off by a partial download
    or ``head``, and is dropped; empty pieces are dropped too.
    """
    pieces = raw.split(END_OF_TEXT)
    complete = pieces[:-1]  # the last piece is never followed by a separator
    return [story for story in (normalize_story(p) for p in complete) if story]


def load_local_stories(path: str | Path, limit: int | None = None) -> list[str]:
    """Stories from a local file in either format; the first ``limit`` if given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TinyStories file {path} not found: fix data.local.tinystories_train / "
                                f"tinystories_val in params.yaml")
    stories = parse_story_text(path.read_text(encoding="utf-8"))
    if not stories:
        raise ValueError(f"{path} holds no complete story (expected text separated by {END_OF_TEXT!r} lines)")
    return stories[:limit]


def load_hub_stories(name: str, split: str, limit: int | None) -> list[str]:
    """The first ``limit`` stories of a hub split, streamed (as the paper's notebook did).

    ``name`` may also be a local copy of the hub repository (its parquet files), which the tests use
    to run this same code offline.
    """
    if not is_local(name):
        require_hub(f"data.source: hub (TinyStories {name!r}, split {split!r})")
    from datasets import load_dataset  # imported here: slow to import, needed only online

    stories: list[str] = []
    for row in load_dataset(name, split=split, streaming=True):
        story = normalize_story(row["text"])
        if story:  # empty rows do not count towards the limit
            stories.append(story)
            if limit is not None and len(stories) == limit:
                break
    return stories
