from pipeline.training.throughput import flops_per_token, main
from pipeline.model.transformer import TransformerLM
from pipeline.paper import PAPER_ARCH, PAPER_VOCAB_SIZE


def test_tiny_throughput_reports_both_models_and_their_ratio(capsys):
    results = main(["--arch", "tiny", "--steps", "3", "--warmup", "1", "--device", "cpu", "--batch-size", "4"])
    printed = capsys.readouterr().out
    assert "tokens/s" in printed and "ternary / fp32 step time" in printed
    assert results["ternary_tokens_per_s"] > 0 and results["fp32_tokens_per_s"] > 0
    assert results["ternary_over_fp32_step_time"] == results["ternary_step_ms"] / results["fp32_step_ms"]
    assert "ternary_mfu" not in results  # no known peak for a CPU: not guessed


def test_paper_flops_per_token():
    import torch

    with torch.device("meta"):
        model = TransformerLM(PAPER_ARCH, PAPER_VOCAB_SIZE)
    non_embedding = 131_921_466 - 30522 * 768
    assert flops_per_token(model) == 6 * non_embedding + 12 * 12 * 768 * 128
