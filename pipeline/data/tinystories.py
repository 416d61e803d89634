"""TinyStories (roneneldan/TinyStories) from local files or the Hugging Face hub.

Two local formats carry the same dataset: the release's ``TinyStories-*.txt`` (stories separated by
a line ``<|endoftext|>``, single newlines between paragraphs, curly quotes) and exports of the hub
split (each story followed by ``\\n<|endoftext|>\\n``, blank lines between paragraphs, and the hub's
mis-decoded quotes such as ``â€œ``). :func:`normalize_story` maps both to one text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError, MissingInputError
from pipeline.io import read_text_file
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


# The longest story in the local subsets has 4,107 characters; a "story" 5x that long means the file
# uses another separator than <|endoftext|> lines (blank lines, say) and stories ran together.
MAX_STORY_CHARS = 20_000


@dataclass(frozen=True)
class StoryFile:
    """The stories of one file and what was left out of them, for metrics/data.json."""

    stories: list[str]
    dropped_fragment_chars: int  # a trailing piece with no <|endoftext|> after it (cut-off download)
    dropped_empty: int  # empty pieces between separators


def parse_story_text(raw: str, source: str = "<text>") -> StoryFile:
    """Split an ``<|endoftext|>``-separated text into stories.

    A trailing piece with no ``<|endoftext|>`` after it is a fragment cut off by a partial download
    or ``head``, and is dropped (its length is recorded); empty pieces are dropped too. A story far
    longer than any TinyStories story means a wrong format: an :class:`InputError` says so.
    """
    raw = raw.lstrip("\ufeff")  # a UTF-8 byte-order mark is not text
    pieces = raw.split(END_OF_TEXT)
    complete, fragment = pieces[:-1], pieces[-1]  # the last piece is never followed by a separator
    normalized = [normalize_story(p) for p in complete]
    stories = [story for story in normalized if story]
    for index, story in enumerate(stories):
        if len(story) > MAX_STORY_CHARS:
            raise InputError(f"{source}: story {index + 1} has {len(story):,} characters (TinyStories stories have "
                             f"at most a few thousand): stories must be separated by a line {END_OF_TEXT}; this file "
                             f"seems to use another separator (blank lines?). Convert it, or point "
                             f"data.local.* at a file in the release or hub format")
    return StoryFile(stories, len(normalize_story(fragment)), len(normalized) - len(stories))


def load_local_stories(path: str | Path, limit: int | None = None, key: str = "data.max_train_stories") -> StoryFile:
    """Stories from a local file in either format; the first ``limit`` if given (``key`` names the
    params key that set it, for the error when the file holds fewer)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"TinyStories file {path} not found: fix data.local.tinystories_train / "
                                f"tinystories_val in params.yaml")
    parsed = parse_story_text(read_text_file(path), str(path))
    if not parsed.stories:
        raise InputError(f"{path} holds no complete story (expected text separated by {END_OF_TEXT!r} lines)")
    if limit is not None and limit > len(parsed.stories):
        raise InputError(f"{key} is {limit:,} but {path} holds {len(parsed.stories):,} complete stories: lower it, "
                         f"or set it to null to use them all")
    return StoryFile(parsed.stories[:limit], parsed.dropped_fragment_chars, parsed.dropped_empty)


def load_hub_stories(name: str, split: str, limit: int | None, text_field: str = "text") -> list[str]:
    """The first ``limit`` stories of a hub split, streamed (as the paper's notebook did).

    ``name`` may also be a local copy of the hub repository (its parquet files), which the tests use
    to run this same code offline.
    """
    if not is_local(name):
        require_hub(f"data.source: hub (TinyStories {name!r}, split {split!r})")
    from datasets import load_dataset  # imported here: slow to import, needed only online

    stories: list[str] = []
    for row in load_dataset(name, split=split, streaming=True):
        if text_field not in row:
            raise InputError(f"{name} ({split}) has no column {text_field!r} (columns: {sorted(row)}): set "
                             f"data.hub.text_field to the one holding the text")
        story = normalize_story(row[text_field])
        if story:  # empty rows do not count towards the limit
            stories.append(story)
            if limit is not None and len(stories) == limit:
                break
    return stories
