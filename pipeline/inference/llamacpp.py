"""Our exported GGUF files in llama.cpp (the optional ``llama_cpp`` binding), and how closely they agree.

``python -m pipeline.inference.llamacpp models/studied/seed_0 --gguf model.gguf`` reads the validation tokens
(``data/tokens/val.npy``), cuts them into ``model.arch.seq_len`` + 1 windows, and scores each window
twice: in llama.cpp from the GGUF file, and in our packed model (the exact numerics the model was
trained with, per-token int8 activations). It reports both perplexities, their relative difference,
the share of positions where both predict the same next token (top-1 agreement) and the largest
logit difference. They cannot be bit-equal: llama.cpp quantizes activations to int8 per block of
256 values (Q8_K) for its TQ dot products, ours per token (the whole row), and it stores alpha in
fp16; the figures say how close they come. Token ids are fed directly, so tokenization does not
enter the comparison.

Install the binding with ``pip install -r requirements-llamacpp.txt`` (it compiles llama.cpp, about
13 minutes on 2 cores); without it, this module imports but :func:`available` is False.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from pipeline.errors import MissingInputError, one_line_errors
from pipeline.data.tokens import load_tokens
from pipeline.inference.cli import add_scoring_arguments, checkpoint_file, require_files, scoring_windows
from pipeline.io import print_json


def available() -> bool:
    """Whether the optional binding (requirements-llamacpp.txt) is installed."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def system_info() -> str:
    """The instruction sets llama.cpp was built with and uses on this CPU (its own system-info line),
    recorded beside peer timings so a reader sees which of its kernels ran."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode().strip()


class LlamaCppModel:
    """One GGUF file loaded in llama.cpp: full-sequence logits and timed greedy decoding."""

    # The binding copies logits into ``scores`` only with ``logits_all`` (since sampling moved into
    # llama.cpp's sampler); greedy decoding reads them there, one 30522-float row per decoded token.
    #
    # ``extra_buffers``: llama.cpp's extra CPU buffer types (weights repacked at load, AMX tiles), its
    # default. The pinned llama-cpp-python 0.3.36 crashes (a segfault) evaluating two or more tokens at
    # once through a Q8_0 tensor held in them on an Intel Xeon with AMX (one token at a time works, and
    # so does the same file without them), so what evaluates whole sequences (``logits``) loads without
    # them; the timed decoding keeps llama.cpp's default.
    def __init__(self, path: Path, threads: int, n_ctx: int, extra_buffers: bool = True) -> None:
        if not available():
            raise MissingInputError("llama_cpp is not installed: pip install -r requirements-llamacpp.txt")
        import llama_cpp
        from llama_cpp import Llama

        default_params = llama_cpp.llama_cpp.llama_model_default_params

        def params() -> object:  # what Llama() reads its model parameters from, with extra_buffers applied
            chosen = default_params()
            chosen.use_extra_bufts = extra_buffers
            return chosen

        llama_cpp.llama_cpp.llama_model_default_params = params
        try:
            self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, n_threads=threads,
                             n_threads_batch=threads, logits_all=True, verbose=False)
        finally:
            llama_cpp.llama_cpp.llama_model_default_params = default_params

    def logits(self, ids: list[int]) -> np.ndarray:
        """Logits (len(ids), vocab) of a fresh sequence."""
        self.llm.reset()
        self.llm.eval(ids)
        return np.array(self.llm.scores[:len(ids)], dtype=np.float32)

    def decode(self, prompt: list[int], n_tokens: int) -> tuple[list[int], float]:
        """Greedy ids after ``prompt`` and the seconds the ``n_tokens`` decode steps took (prefill excluded)."""
        self.llm.reset()
        self.llm.eval(prompt)
        generated: list[int] = []
        started = time.perf_counter()
        for _ in range(n_tokens):
            next_id = int(np.argmax(self.llm.scores[self.llm.n_tokens - 1]))
            generated.append(next_id)
            self.llm.eval([next_id])
        return generated, time.perf_counter() - started


def _nll(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-position negative log-likelihood of ``targets`` (float64, torch's cross-entropy)."""
    return F.cross_entropy(torch.from_numpy(logits).double(), torch.from_numpy(targets), reduction="none").numpy()


def agreement(gguf_path: Path, ours: torch.nn.Module, tokens: np.ndarray, seq_len: int, windows: int,
              threads: int) -> dict[str, float]:
    """Perplexity of both models on the first ``windows`` non-overlapping windows of ``tokens``,
    their relative difference, top-1 agreement and the largest absolute logit difference."""
    cut = scoring_windows(tokens, seq_len, windows)
    windows = len(cut)
    peer = LlamaCppModel(gguf_path, threads, n_ctx=seq_len, extra_buffers=False)  # whole windows at once
    nll_peer, nll_ours, same, largest = [], [], 0, 0.0
    for ids, targets in cut:
        theirs = peer.logits(ids.tolist())
        with torch.no_grad():
            mine = ours(torch.from_numpy(ids)[None])[0].float().numpy()
        nll_peer.append(_nll(theirs, targets))
        nll_ours.append(_nll(mine, targets))
        same += int((theirs.argmax(-1) == mine.argmax(-1)).sum())
        largest = max(largest, float(np.abs(theirs - mine).max()))
    ppl_peer = math.exp(float(np.concatenate(nll_peer).mean()))
    ppl_ours = math.exp(float(np.concatenate(nll_ours).mean()))
    positions = windows * seq_len
    return {"llamacpp_ppl": ppl_peer, "ours_ppl": ppl_ours, "ppl_relative_difference": ppl_peer / ppl_ours - 1.0,
            "top1_agreement": same / positions, "max_abs_logit_difference": largest, "positions": positions,
            "windows": windows}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="Perplexity and top-1 agreement: a GGUF file in llama.cpp vs our "
                                                 "packed model, on the validation tokens.")
    add_scoring_arguments(parser, windows=32)
    parser.add_argument("--gguf", type=Path, required=True, help="its export (python -m pipeline.inference.export)")
    args = parser.parse_args(argv)
    from pipeline.model.checkpoint import load_model
    from pipeline.inference.packed import PackedTransformerLM

    checkpoint = checkpoint_file(args.checkpoint)
    with one_line_errors():
        require_files(checkpoint, args.gguf, args.tokens)
        model, _ = load_model(checkpoint)
        torch.set_num_threads(args.threads)
        ours = PackedTransformerLM.from_trained(model, "bf16")  # what the benchmark loads from its 2-bit file
        result = agreement(args.gguf, ours, load_tokens(args.tokens), model.arch.seq_len, args.windows, args.threads)
    print_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
