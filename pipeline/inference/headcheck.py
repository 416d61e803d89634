"""What the int8 output head costs in quality, on real text with a trained model (issue 25 item 3).

``python -m pipeline.inference.headcheck models/studied/seed_0 [--tokens data/tokens/val.npy]
[--windows 64] [--out FILE]`` builds the packed model of a trained ternary checkpoint twice, with the
bf16 head the benchmark uses and with the int8 head (one scale per row, :class:`Int8Head`), scores
the first ``windows`` non-overlapping windows of the validation tokens with both, and reports each
perplexity (true NLL, no label smoothing), the relative change, the share of positions where both
predict the same next token and the largest logit difference. The block layers, the embedding and
the activations are the same in both, so the difference is the head's alone.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from torch.nn import functional as F

from pipeline.data.tokens import load_tokens
from pipeline.errors import InputError, one_line_errors
from pipeline.inference.cli import add_scoring_arguments, checkpoint_file, require_files, scoring_windows
from pipeline.io import print_json


def head_change(bf16: torch.nn.Module, int8: torch.nn.Module, tokens: np.ndarray, seq_len: int, windows: int
                ) -> dict[str, float]:
    """Perplexity of the two models on the first ``windows`` windows of ``seq_len`` + 1 tokens, the
    int8 head's relative change, top-1 agreement and the largest absolute logit difference."""
    cut = scoring_windows(tokens, seq_len, windows)
    windows = len(cut)
    nll = {"bf16": 0.0, "int8": 0.0}
    same, largest = 0, 0.0
    for window_ids, window_targets in cut:
        ids, targets = torch.from_numpy(window_ids)[None], torch.from_numpy(window_targets)
        with torch.no_grad():
            logits = {"bf16": bf16(ids)[0].float(), "int8": int8(ids)[0].float()}
        for name, value in logits.items():
            nll[name] += float(F.cross_entropy(value.double(), targets, reduction="sum"))
        same += int((logits["bf16"].argmax(-1) == logits["int8"].argmax(-1)).sum())
        largest = max(largest, float((logits["bf16"] - logits["int8"]).abs().max()))
    positions = windows * seq_len
    ppl = {name: math.exp(total / positions) for name, total in nll.items()}
    return {"bf16_head_ppl": ppl["bf16"], "int8_head_ppl": ppl["int8"],
            "ppl_relative_change": ppl["int8"] / ppl["bf16"] - 1.0, "top1_agreement": same / positions,
            "max_abs_logit_difference": largest, "positions": positions, "windows": windows}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description="Perplexity of a trained ternary model's packed form with the "
                                                 "int8 head against the bf16 head, on the validation tokens.")
    add_scoring_arguments(parser, windows=64)
    args = parser.parse_args(argv)
    from pipeline.inference.packed import PackedTransformerLM
    from pipeline.model.checkpoint import load_model

    checkpoint = checkpoint_file(args.checkpoint)
    with one_line_errors():
        require_files(checkpoint, args.tokens)
        if args.windows < 1:
            raise InputError(f"--windows must be at least 1, got {args.windows}")
        model, _ = load_model(checkpoint)
        if model.role.quant != "ternary":
            raise InputError(f"{checkpoint} is not a ternary model (quant {model.role.quant!r}): only a ternary "
                             "model has a packed form")
        torch.set_num_threads(args.threads)
        models = {dtype: PackedTransformerLM.from_trained(model, dtype) for dtype in ("bf16", "int8")}
        result = head_change(models["bf16"], models["int8"], load_tokens(args.tokens), model.arch.seq_len,
                             args.windows)
    print_json(result, args.out)
    return result


if __name__ == "__main__":
    main()
