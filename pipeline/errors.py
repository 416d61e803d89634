"""The one error type for bad input: what a user can fix without touching the code.

An :class:`InputError` message names the file (with row, column or byte offset) or the params key,
says what was expected and how to fix it, in one line. Stage entry points print it as one line and
exit non-zero; every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input (a params value, a data file, a checkpoint from elsewhere): the message says where and how to fix it."""


class MissingInputError(InputError, FileNotFoundError):
    """An input file or folder the params point at does not exist."""
