"""Fail fast, and say what to do, when the Hugging Face hub cannot be reached."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pipeline.errors import InputError

OFFLINE_ALTERNATIVES = (
    "Offline alternatives: set data.source: local in params.yaml (real files, e.g. the copies in "
    "../shared/data, paths under data.local) or data.source: synthetic (the embedded default), and "
    "tokenizer.kind: bert_vocab_file (bert-base-uncased rebuilt from tokenizer.vocab_file) or "
    "trained_wordpiece."
)


class HubUnavailableError(InputError):
    """The hub is needed by the params but cannot be reached from this machine."""


def is_local(name: str) -> bool:
    """A dataset "name" that is an existing local path is loaded from disk, no hub needed."""
    return Path(name).exists()


def require_hub(what: str, host: str = "huggingface.co", timeout_s: float = 5.0) -> None:
    """Raise :class:`HubUnavailableError` naming ``what`` needed the hub, within ``timeout_s``.

    A plain TCP connect is enough to tell "offline" from "online" before any long download starts;
    ``HF_HUB_OFFLINE=1`` is honoured as offline.
    """
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        raise HubUnavailableError(f"{what} needs the Hugging Face hub, but HF_HUB_OFFLINE is set. "
                                  + OFFLINE_ALTERNATIVES)
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return
    except OSError as exc:
        raise HubUnavailableError(f"{what} needs the Hugging Face hub, but {host}:443 is unreachable "
                                  f"({exc}). " + OFFLINE_ALTERNATIVES) from None
