"""Facts about the paper (arXiv 2602.07374) and its released notebook that the pipeline uses.

The architecture is the released notebook's (dim 768, 12 layers, 12 heads, SwiGLU hidden
int(768 * 2.67) = 2050, vocabulary of bert-base-uncased). Its parameter count, 131,921,466, is what
our model code gives for it (tests/test_model.py checks it). The notebook's training recipe is the
``paper-code`` profile (``profiles/paper-code.yaml``), its bug-fixed twin ``paper-code-fixed``:
:func:`recipe_mismatches` compares a config with them key by key.
"""

from __future__ import annotations

from typing import Any

from pipeline.config import ArchConfig, Config

PAPER_ARCH = ArchConfig(dim=768, n_layers=12, n_heads=12, mlp_ratio=2.67, dropout=0.05, seq_len=128)
PAPER_VOCAB_SIZE = 30522
PAPER_PARAMETERS = 131_921_466
PAPER_TRAIN_STORIES = 60_000

# How a run is executed, not what it computes: never part of "the recipe".
EXECUTION_KEYS = frozenset({"train.seeds", "train.eval_tokens", "train.epoch_eval_tokens", "train.threads",
                            "train.device", "train.precision", "train.compile", "train.processes", "train.log_every",
                            "train.checkpoint_every"})
# Where paper-code and paper-code-fixed differ: the notebook's two bugs.
VARIANT_PREFIXES = ("model.init_std", "model.baseline.", "model.quant", "model.scale", "model.act_bits",
                    "model.attention", "model.positions")


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def recipe_values(profile: str) -> dict[str, Any]:
    """Every key ``profile`` fixes (profiles/default.yaml overlaid by the profile), dotted."""
    from pipeline.profiles import read_profile

    return _flatten(read_profile("default")) | _flatten(read_profile(profile))


def recipe_mismatches(cfg: Config) -> dict[str, list[str]]:
    """Keys where ``cfg`` departs from the notebook's recipe: ``training`` (train.* and model.arch.*,
    execution keys aside), and the full ``paper-code`` / ``paper-code-fixed`` variants (plus model keys)."""
    ours = _flatten(cfg.model_dump(mode="json"))

    def differing(profile: str, keep) -> list[str]:
        wanted = recipe_values(profile)
        return sorted(key for key, value in wanted.items()
                      if keep(key) and key not in EXECUTION_KEYS and _normal(ours.get(key)) != _normal(value))

    training = lambda key: key.startswith(("train.", "model.arch."))  # noqa: E731
    variant = lambda key: training(key) or key.startswith(VARIANT_PREFIXES)  # noqa: E731
    return {"training": differing("paper-code", training), "paper-code": differing("paper-code", variant),
            "paper-code-fixed": differing("paper-code-fixed", variant)}


def _normal(value: Any) -> Any:
    return [_normal(v) for v in value] if isinstance(value, (list, tuple)) else value
