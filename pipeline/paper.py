"""Facts about the paper (arXiv 2602.07374) and its released notebook that the pipeline uses.

The architecture is the released notebook's (the ``paper`` preset of ``pipeline.config.ARCH_PRESETS``,
with the vocabulary of bert-base-uncased). Its parameter count, 131,921,466, is what
our model code gives for it (tests/test_model.py checks it). The notebook's training recipe is the
``paper-code`` profile (``profiles/paper-code.yaml``), its bug-fixed twin ``paper-code-fixed``;
``pipeline.profiles.recipe_mismatches`` compares a config with them key by key.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import ARCH_PRESETS, ArchConfig

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

# The notebook's "FP16 baseline" (no causal mask, learned positions; 10,000 stories as 128-token windows,
# about 527 batches of 32 per epoch, constant AdamW 3e-4): its training log prints loss 0.37 at step 250
# and 0.10 at step 500, and a mean of 0.054 over its second epoch. A model that sees the next token
# copies it; the leak table sets our maskless baselines beside these (issue 22).
NOTEBOOK_BASELINE_TRAIN_LOSS = {250: 0.37, 500: 0.10}
NOTEBOOK_BASELINE_SECOND_EPOCH_LOSS = 0.054
# The notebook's training log: each 15-epoch run (one model) logged 2,031-2,074 s per epoch on two
# NVIDIA T4 GPUs (Kaggle, DataParallel) for its 12,941,776 tokens per epoch: ~8.5 h, 17 T4-hours per
# model. The rate every GPU cost in the claims table is priced at (pipeline/analysis/costs.py).
NOTEBOOK_GPU, NOTEBOOK_GPU_COUNT, NOTEBOOK_EPOCH_SECONDS = "NVIDIA T4", 2, (2031.0, 2074.0)
# The paper's efficiency table is headed "Inference Memory (GPU)" (README): its 1197 / 612 / 498 MB are
# GPU process megabytes on the paper's hardware, not weight bytes (the FP32 weights of the 132M
# architecture are 527.7 MB).
PAPER_MEMORY_MEASURE = "GPU process memory ('Inference Memory (GPU)' in the README), on NVIDIA T4 GPUs"


@dataclass(frozen=True)
class ParamCounts:
    """The parameters of a model of this pipeline's architecture (pipeline/model/transformer.py): the
    block linears, which a ternary model stores as codes, and the rest (embedding, head with its bias,
    RMSNorm gains), kept in full precision; ``embedding`` is the token table's share of the rest."""

    ternary: int
    full_precision: int
    embedding: int

    @property
    def total(self) -> int:
        """Every parameter."""
        return self.ternary + self.full_precision

    @property
    def non_embedding(self) -> int:
        """Everything but the token embedding table (the head is a matmul per token, so it counts)."""
        return self.total - self.embedding


def param_counts(arch: ArchConfig, vocab_size: int) -> ParamCounts:
    """Parameter counts of ``arch`` over ``vocab_size`` tokens, by formula: per block 4 d^2 attention
    and 3 d h SwiGLU weights (h = int(d x mlp_ratio), no biases) and two RMSNorm gains; then the
    embedding (V d), the final norm (d) and the untied head with its bias (V d + V). The paper's model
    gives 131,921,466 (tests/test_claims_costs.py checks the formula against the model code)."""
    hidden = int(arch.dim * arch.mlp_ratio)
    ternary = arch.n_layers * (4 * arch.dim * arch.dim + 3 * arch.dim * hidden)
    embedding = vocab_size * arch.dim
    full = embedding + (2 * arch.n_layers + 1) * arch.dim + vocab_size * arch.dim + vocab_size
    return ParamCounts(ternary=ternary, full_precision=full, embedding=embedding)


# --- published figures of other models, each with its source (the claims decided by them alone) ---------
# DistilBERT (Sanh et al. 2019, arXiv 1910.01108) Table 1, GLUE dev, median of 5 runs: MRPC 87.5. The
# table does not name the metric; MRPC is reported as accuracy or F1 (F1 usually the higher), and either
# reading of that figure is above the paper's 82.47.
DISTILBERT_MRPC = 87.5
DISTILBERT_SOURCE = ("DistilBERT (Sanh et al. 2019, arXiv 1910.01108) Table 1, GLUE dev set, MRPC 87.5, median of "
                     "5 runs; the table does not name the metric (accuracy or F1)")
# BERT's pre-training corpus, which DistilBERT reuses: BooksCorpus 800M + English Wikipedia 2,500M words
# (Devlin et al. 2019, arXiv 1810.04805, section 3.1).
BERT_CORPUS_WORDS = 3.3e9
BERT_CORPUS_SOURCE = "Devlin et al. 2019 (arXiv 1810.04805) section 3.1: BooksCorpus 800M + Wikipedia 2,500M words"
NOTEBOOK_TOKENS_SOURCE = "the released notebook's training log: 60,000 stories counted as 12,941,776 tokens per epoch"
