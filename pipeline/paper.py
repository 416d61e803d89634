"""Facts about the paper (arXiv 2602.07374) and its released notebook that the pipeline uses.

The architecture is the released notebook's (dim 768, 12 layers, 12 heads, SwiGLU hidden
int(768 * 2.67) = 2050, vocabulary of bert-base-uncased). Its parameter count, 131,921,466, is what
our model code gives for it (tests/test_model.py checks it). The notebook's training recipe is the
``paper-code`` profile (``profiles/paper-code.yaml``), its bug-fixed twin ``paper-code-fixed``;
``pipeline.profiles.recipe_mismatches`` compares a config with them key by key.
"""

from __future__ import annotations

from pipeline.config import ArchConfig

PAPER_ARCH = ArchConfig(dim=768, n_layers=12, n_heads=12, mlp_ratio=2.67, dropout=0.05, seq_len=128)
PAPER_VOCAB_SIZE = 30522
PAPER_PARAMETERS = 131_921_466
PAPER_TRAIN_STORIES = 60_000
