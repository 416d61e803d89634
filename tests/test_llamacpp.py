"""Exported GGUF files in llama.cpp itself (needs the optional binding: requirements-llamacpp.txt).

A small model whose widths are multiples of 256 is trained here for a few seconds on a learnable
token stream, exported as TQ2_0 and TQ1_0, loaded by ``llama_cpp.Llama`` and compared with our
packed model on held-out windows: perplexity within 1%, and most next-token predictions equal.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.inference import llamacpp
from pipeline.config import ArchConfig, OptimizerConfig
from pipeline.inference.export import export_gguf, read_tensor_types
from pipeline.inference.packed import export_packed, load_packed
from pipeline.model.transformer import PAPER_TERNARY, TransformerLM
from pipeline.training.optim import lm_loss, make_optimizer, optimizer_step
from pipeline.paper import PAPER_ARCH, PAPER_VOCAB_SIZE
from pipeline.bench.peer import ours_decoder, placeholder_vocabulary
from tests.test_export import write_tokenizer

pytestmark = pytest.mark.skipif(not llamacpp.available(), reason="llama_cpp not installed "
                                "(pip install -r requirements-llamacpp.txt)")

VOCAB, SEQ = 64, 64


def markov_stream(length: int, seed: int) -> np.ndarray:
    """Tokens 5..63 where each token is followed by (3 x token) mod 59 + 5 nine times in ten."""
    rng = np.random.default_rng(seed)
    out = np.empty(length, dtype=np.int64)
    out[0] = 5
    for i in range(1, length):
        out[i] = (3 * (out[i - 1] - 5)) % 59 + 5 if rng.random() < 0.9 else rng.integers(5, VOCAB)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.manual_seed(0)
    arch = ArchConfig.from_name("tiny", dim=256, n_heads=4, dropout=0.0, seq_len=SEQ)  # 256: whole TQ2_0 blocks
    model = TransformerLM(arch, VOCAB, PAPER_TERNARY).train()
    optimizer = make_optimizer(model, OptimizerConfig(lr=3e-3, betas=[0.9, 0.98], weight_decay=0.01))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    stream = torch.from_numpy(markov_stream(40 * (SEQ + 1), seed=1)).view(40, SEQ + 1)
    for step in range(60):
        batch = stream[(step * 8) % 40:(step * 8) % 40 + 8]
        optimizer_step(model, optimizer, scheduler, lm_loss(model(batch[:, :-1]), batch[:, 1:], 0.0), 1.0)
    folder = tmp_path_factory.mktemp("llamacpp")
    return model.eval(), write_tokenizer(folder / "tokenizer.json", VOCAB), folder


@pytest.mark.parametrize("ternary_type", ["tq2_0", "tq1_0"])
def test_llamacpp_perplexity_agrees_with_our_packed_model_within_one_percent(trained, ternary_type):
    model, tokenizer, folder = trained
    gguf_path = folder / f"model_{ternary_type}.gguf"
    export_gguf(model, tokenizer, gguf_path, ternary_type, "bf16")
    assert read_tensor_types(gguf_path)["blk.0.ffn_down.weight"] == ternary_type.upper()
    export_packed(model, folder / "packed.safetensors", "2bit", "bf16")
    ours, _ = load_packed(folder / "packed.safetensors")
    result = llamacpp.agreement(gguf_path, ours, markov_stream(16 * (SEQ + 1), seed=2), SEQ, windows=16, threads=2)
    assert result["ours_ppl"] < 4.0  # trained: far below the 59-way uniform guess
    print(ternary_type, result)
    assert abs(result["ppl_relative_difference"]) < 0.01, result
    assert result["top1_agreement"] > 0.95, result


def test_llamacpp_generates_text_from_the_export(trained):
    model, tokenizer, folder = trained
    gguf_path = folder / "generate.gguf"
    export_gguf(model, tokenizer, gguf_path)
    peer = llamacpp.LlamaCppModel(gguf_path, threads=2, n_ctx=SEQ)
    prompt = [int(t) for t in markov_stream(12, seed=3)]
    generated, seconds = peer.decode(prompt, 8)
    export_packed(model, folder / "packed_bf16.safetensors", "2bit", "bf16")
    ours, _ = ours_decoder(load_packed(folder / "packed_bf16.safetensors")[0])(prompt, 8)
    assert generated == ours and seconds > 0  # greedy decoding picks the same tokens
    assert peer.llm.detokenize(generated).decode(errors="replace").strip()


def test_the_paper_architecture_exports_and_runs(tmp_path):
    torch.manual_seed(0)
    model = TransformerLM(PAPER_ARCH, PAPER_VOCAB_SIZE, PAPER_TERNARY).eval()
    out = tmp_path / "paper.gguf"
    summary = export_gguf(model, placeholder_vocabulary(PAPER_VOCAB_SIZE), out, "tq2_0", "bf16")
    assert not summary.fallbacks and (summary.ffn_hidden, summary.ffn_hidden_padded) == (2050, 2304)
    assert {t for name, t in read_tensor_types(out).items() if name.startswith("blk.") and name.endswith("_q.weight")} \
        == {"TQ2_0"}
    generated, _ = llamacpp.LlamaCppModel(out, threads=2, n_ctx=32).decode([101, 2023, 2003], 4)
    assert len(generated) == 4 and all(0 <= token < PAPER_VOCAB_SIZE for token in generated)
