"""Facts about the paper (arXiv 2602.07374) and its released notebook that the pipeline uses.

The architecture is the released notebook's (the ``paper`` preset of ``pipeline.config.ARCH_PRESETS``,
with the vocabulary of bert-base-uncased). Its parameter count, 131,921,466, is what
our model code gives for it (tests/test_model.py checks it). The notebook's training recipe is the
``paper-code`` profile (``profiles/paper-code.yaml``), its bug-fixed twin ``paper-code-fixed``;
``pipeline.profiles.recipe_mismatches`` compares a config with them key by key.
"""

from __future__ import annotations

from pipeline.config import ARCH_PRESETS

PAPER_ARCH = ARCH_PRESETS["paper"]  # the architecture preset, written in pipeline/config.py
PAPER_VOCAB_SIZE = 30522
PAPER_PARAMETERS = 131_921_466
PAPER_TRAIN_STORIES = 60_000

# The figures the paper reports, each written once: arXiv 2602.07374 v1 (7 Feb 2026) and v2 (27 Mar
# 2026) abstracts, and the README of the authors' repository (SST-2, CoLA, INT8 memory and every
# latency appear in that README only). pipeline/analysis/claims.py says where each is printed and how it is
# judged; the report and the notebook read them from there.
REPORTED = {
    "val_ppl": 58.42, "val_ppl_seed_std": 0.17,
    "train_val_ratio_ternary": 1.05, "train_val_ratio_fp32": 3.51,
    "mrpc_f1": 82.47, "sst2_acc": 88.92, "cola_mcc": 47.23,
    "memory_ternary_mb": 498.0, "memory_fp32_mb": 1197.0, "memory_int8_mb": 612.0, "memory_reduction": 2.4,
    "latency_ternary_ms": 9.41, "latency_fp32_ms": 9.52, "latency_int8_ms": 8.21,
    "sparsity_middle_pct": (60.0, 62.0), "sparsity_boundary_pct": (45.0, 55.0),
    "pretraining_data_ratio": 55.0,
}
README_BERT_BASE_GLUE = {"mrpc": 84.98, "sst2": 92.43, "cola": 56.78}  # README GLUE table, BERT-Base row
# The notebook's own run (its training log): 60,000 stories counted as 12,941,776 tokens, 15 epochs.
NOTEBOOK_TRAIN_TOKENS, NOTEBOOK_EPOCHS = 12_941_776, 15
