"""Exported GGUF files in llama.cpp itself (needs the optional binding: requirements-llamacpp.txt).

A small model whose widths are multiples of 256 is trained here for a few seconds on a learnable
token stream, exported as TQ2_0 and TQ1_0, loaded by ``llama_cpp.Llama`` and compared with our
packed model on held-out windows: perplexity within 1%, and most next-token predictions equal.
"""


import numpy as np
import pytest
import torch

from pipeline.inference import llamacpp
from pipeline.bench.floor import ReadBandwidths
from pipeline.bench.table import PEER_FORMATS, BenchTable
from pipeline.config import ArchConfig, BenchmarkConfig, OptimizerConfig
from pipeline.inference.export import export_gguf, read_tensor_types
from pipeline.inference.packed import export_packed, load_packed
from pipeline.model.transformer import PAPER_TERNARY, TransformerLM
from pipeline.training.optim import lm_loss, make_optimizer, optimizer_step
from pipeline.paper import PAPER_ARCH, PAPER_VOCAB_SIZE
from pipeline.bench.peer import ours_decoder, placeholder_vocabulary, run_peer
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
    peer = llamacpp.LlamaCppModel(gguf_path, threads=2, n_ctx=SEQ, extra_buffers=False)
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



def test_a_q8_0_head_moves_llamacpps_logits_by_a_small_fraction_of_their_range(trained):
    """The same TQ2_0 body with a bf16 and a Q8_0 head: the hidden states are identical, so the
    logits differ only by the head's rounding. Q8_0 rounds each weight to within half of its block's
    largest magnitude / 127 (0.4 %), and llama.cpp rounds the hidden state the same way for a Q8_0
    dot product; summed over the row with random signs, that moves a logit by well under 1 % of the
    position's logit range (0.3 % at most here), while a wrong scale or layout would move it by the
    order of the range. Top-1 may only change where the bf16 margin is within twice the largest
    difference."""
    model, tokenizer, folder = trained
    paths = {head: folder / f"tq2_0_head_{head}.gguf" for head in ("bf16", "q8_0")}
    for head, path in paths.items():
        export_gguf(model, tokenizer, path, "tq2_0", "bf16", head_type=head)
    assert read_tensor_types(paths["q8_0"])["output.weight"] == "Q8_0"
    windows = markov_stream(4 * SEQ, seed=2).reshape(4, SEQ)
    logits = {}
    for head, path in paths.items():
        peer = llamacpp.LlamaCppModel(path, threads=2, n_ctx=SEQ, extra_buffers=False)
        logits[head] = np.stack([peer.logits(window.tolist()) for window in windows]).reshape(-1, VOCAB)
    reference, quantized = logits["bf16"], logits["q8_0"]
    difference = np.abs(quantized - reference)
    assert 0 < (difference.max(-1) / (reference.max(-1) - reference.min(-1))).max() < 0.01
    top2 = np.sort(reference, axis=-1)[:, -2:]
    decided = top2[:, 1] - top2[:, 0] > 2 * difference.max()
    assert decided.mean() > 0.9  # trained: most predictions are not near-ties
    assert (quantized.argmax(-1) == reference.argmax(-1))[decided].all()


def test_every_peer_format_gets_its_timing_ratios_and_floor(tmp_path):
    """The peer comparison on small shapes (the 132M ones take minutes): every format is timed in the
    rounds and gets the ratio and floor columns; the int8 heads save what their bytes say."""
    arch = ArchConfig.from_name("tiny", dim=256, n_heads=4, dropout=0.0, seq_len=SEQ).model_copy(
        update={"mlp_ratio": 3.0})  # 768 hidden units: whole TQ blocks, the same shapes on both sides
    cfg = BenchmarkConfig(decode_tokens=4, prompt_tokens=4, repeats=1, threads=2, paper_arch=False)
    table = BenchTable()
    described = run_peer(cfg, tmp_path, 2, table, ReadBandwidths(threads=2, repeats=1), arch, VOCAB)
    assert described["peer_ffn_hidden"] == 768
    for name in PEER_FORMATS:
        for metric in ("ms_per_token", "latency_over_llamacpp_tq2_0", "fp32_speedup", "bytes_per_token", "floor_ms",
                       "over_floor"):
            assert table.get("peer", name, metric) > 0, (name, metric)
    assert table.get("peer", "llamacpp_tq2_0", "latency_over_llamacpp_tq2_0") == 1.0
    read = {name: table.get("peer", name, "bytes_per_token") for name in PEER_FORMATS}
    # the head (64 x 256): bf16 2 bytes a value, Q8_0 34 bytes per 32 values
    assert read["llamacpp_tq2_0"] - read["llamacpp_tq2_0_q8head"] == 64 * 256 * 2 - 64 * 256 // 32 * 34
    # ours: 2 bytes a value against 1, give or take the per-row scale and the bias's dtype (a few bytes a row)
    assert read["ours_packed"] - read["ours_packed_int8head"] == pytest.approx(64 * 256, abs=64 * 8)


def test_repeated_peer_runs_report_each_run_and_the_median(tmp_path):
    from pipeline.bench.peer import PEER_RUN_METRICS, repeated_runs

    arch = ArchConfig.from_name("tiny", dim=256, n_heads=4, dropout=0.0, seq_len=SEQ).model_copy(
        update={"mlp_ratio": 3.0})
    cfg = BenchmarkConfig(decode_tokens=2, prompt_tokens=2, repeats=1, threads=2, paper_arch=False, peer_rounds=1)
    result = repeated_runs(cfg, 3, tmp_path, arch, VOCAB)
    assert len(result["runs"]) == 3 and set(result["median"]) == set(PEER_FORMATS)
    for name in PEER_FORMATS:
        for metric in PEER_RUN_METRICS:
            values = sorted(run["formats"][name][metric] for run in result["runs"])
            assert result["median"][name][metric] == values[1]
    assert all("machine_idle" in run for run in result["runs"])


def test_the_system_info_names_the_instruction_sets_llamacpp_runs():
    info = llamacpp.system_info()
    assert "CPU :" in info and ("AVX" in info or "NEON" in info)  # x86 or ARM builds


def test_the_model_loads_with_or_without_llamacpps_extra_buffers_and_gives_the_same_logits(trained):
    """A TQ2_0 file (no tensor the extra buffers repack) scores the same sequence alike either way."""
    model, tokenizer, folder = trained
    path = folder / "extra.gguf"
    export_gguf(model, tokenizer, path, "tq2_0", "bf16")
    window = markov_stream(SEQ, seed=3).tolist()
    with_extra = llamacpp.LlamaCppModel(path, threads=2, n_ctx=SEQ).logits(window)
    without = llamacpp.LlamaCppModel(path, threads=2, n_ctx=SEQ, extra_buffers=False).logits(window)
    assert np.allclose(with_extra, without, rtol=1e-5, atol=1e-5)
