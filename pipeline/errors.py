"""The one error type for bad input: what a user can fix without touching the code.

An :class:`InputError` message names the file (with row, column or byte offset) or the params key,
says what was expected and how to fix it, in one line. Stage entry points print it as one line and
exit non-zero; every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


class InputError(ValueError):
    """Bad input (a params value, a data file, a checkpoint from elsewhere): the message says where and how to fix it."""


class MissingInputError(InputError, FileNotFoundError):
    """An input file or folder the params point at does not exist."""


@contextmanager
def one_line_errors() -> Iterator[None]:
    """What every command-line entry point runs inside: bad input exits non-zero with its message as
    one ``error:`` line; any other exception is a bug and keeps its traceback."""
    try:
        yield
    except InputError as exc:
        sys.exit("error: " + " ".join(str(exc).split()))
