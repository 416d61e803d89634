"""GGUF export (pipeline/inference/export.py): what the file holds, read back with the gguf package's reader.
Running the file in llama.cpp is tests/test_llamacpp.py (skipped without the optional binding)."""

from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordPiece
from tokenizers.pre_tokenizers import BertPreTokenizer

from pipeline.model.checkpoint import save_model
from pipeline.config import ArchConfig, RoleModel
from pipeline.errors import InputError
from pipeline.inference.export import export_gguf, gguf_vocabulary, main, read_tensor_types
from pipeline.model.transformer import FP32_TWIN, PAPER_TERNARY, TransformerLM
from pipeline.model.quant import ternary_codes

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def write_tokenizer(path: Path, vocab_size: int) -> Path:
    words = ["the", "cat", "sat", "on", "mat", "##s", "##ing"]
    vocab = SPECIALS + words + [f"w{i}" for i in range(vocab_size - len(SPECIALS) - len(words))]
    tokenizer = Tokenizer(WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = BertPreTokenizer()
    tokenizer.save(str(path))
    return path


def model(dim: int = 256, role: RoleModel = PAPER_TERNARY, vocab: int = 64) -> TransformerLM:
    torch.manual_seed(0)
    # rows of 256 (dim, and the FFN padded to 256) fill whole TQ blocks
    arch = ArchConfig.from_name("tiny", dim=dim, n_heads=4, dropout=0.0, seq_len=64)
    return TransformerLM(arch, vocab, role).eval()


def tensor(path: Path, name: str) -> np.ndarray:
    found = next(t for t in gguf.GGUFReader(str(path)).tensors if t.name == name)
    return gguf.quants.dequantize(found.data, found.tensor_type)


@pytest.mark.parametrize("ternary_type, expected", [("tq2_0", "TQ2_0"), ("tq1_0", "TQ1_0")])
def test_ternary_layers_come_back_as_codes_times_alpha(tmp_path, ternary_type, expected):
    lm = model()
    out = tmp_path / "m.gguf"
    summary = export_gguf(lm, write_tokenizer(tmp_path / "t.json", 64), out, ternary_type, "bf16")
    types = read_tensor_types(out)
    assert {types[f"blk.{i}.{n}.weight"] for i in range(2) for n in ("attn_q", "ffn_gate", "ffn_down")} == {expected}
    assert types["token_embd.weight"] == types["output.weight"] == "BF16"
    assert types["output.bias"] == types["blk.0.attn_norm.weight"] == "F32" and not summary.fallbacks
    # int(256 * 2.67) = 683 hidden units, padded with zero units to 768 (3 TQ blocks)
    assert (summary.ffn_hidden, summary.ffn_hidden_padded) == (683, 768)
    layer = lm.blocks[1].mlp.w2
    alpha = layer.effective_scale()
    expected_weight = (ternary_codes(layer.weight.detach(), alpha) * alpha).numpy()
    stored = tensor(out, "blk.1.ffn_down.weight")
    assert stored.shape == (256, 768)
    # alpha is stored in fp16 in every block: the codes are exact, the magnitude within fp16 rounding
    np.testing.assert_allclose(stored[:, :683], expected_weight, rtol=2 ** -11, atol=0)
    assert not stored[:, 683:].any() and not tensor(out, "blk.1.ffn_gate.weight")[683:].any()
    assert not tensor(out, "blk.0.attn_q.bias").any()


def metadata(path: Path):
    """A reader of the file's scalar and string metadata by key."""
    fields = gguf.GGUFReader(str(path)).fields

    def value(key):
        field = fields[key]
        return field.parts[field.data[0]].tolist()[0] if field.types[0] != gguf.GGUFValueType.STRING \
            else bytes(field.parts[field.data[0]]).decode()
    return value


def test_the_file_describes_the_qwen2_graph_and_the_wordpiece_vocabulary(tmp_path):
    out = tmp_path / "m.gguf"
    export_gguf(model(), write_tokenizer(tmp_path / "t.json", 64), out)
    value = metadata(out)
    fields = gguf.GGUFReader(str(out)).fields
    assert value("general.architecture") == "qwen2"
    assert (value("qwen2.embedding_length"), value("qwen2.block_count"), value("qwen2.feed_forward_length"),
            value("qwen2.attention.head_count")) == (256, 2, 768, 4)
    assert value("tokenizer.ggml.model") == "bert"
    assert value("tokenizer.ggml.bos_token_id") == 2 and value("tokenizer.ggml.eos_token_id") == 3
    tokens = fields["tokenizer.ggml.tokens"]
    spelled = [bytes(tokens.parts[i]).decode() for i in tokens.data[:12]]
    assert spelled == SPECIALS + ["\u2581the", "\u2581cat", "\u2581sat", "\u2581on", "\u2581mat", "s", "ing"]


def test_a_q8_0_head_holds_int8_per_32_values_and_leaves_every_other_tensor_as_it_was(tmp_path):
    lm, tokenizer = model(), write_tokenizer(tmp_path / "t.json", 64)
    paths = {head: tmp_path / f"{head}.gguf" for head in ("default", "bf16", "q8_0")}
    for head, path in paths.items():
        summary = export_gguf(lm, tokenizer, path, "tq2_0", "bf16", head_type=None if head == "default" else head)
    assert paths["default"].read_bytes() == paths["bf16"].read_bytes()  # None means the wide type
    assert summary.head_type == "q8_0" and summary.tensor_types["output.weight"] == "Q8_0" and not summary.fallbacks
    wide, q8 = ({t.name: t for t in gguf.GGUFReader(str(paths[head])).tensors} for head in ("bf16", "q8_0"))
    assert q8["output.weight"].tensor_type.name == "Q8_0"
    assert int(q8["output.weight"].n_bytes) == 64 * 256 // 32 * 34  # per 32 values: an fp16 scale, 32 int8
    assert int(wide["output.weight"].n_bytes) == 64 * 256 * 2
    assert metadata(paths["q8_0"])("general.file_type") == gguf.LlamaFileType.MOSTLY_TQ2_0
    assert wide.keys() == q8.keys()
    for name in wide.keys() - {"output.weight"}:
        assert wide[name].tensor_type == q8[name].tensor_type and bytes(wide[name].data) == bytes(q8[name].data), name
    # each value within half a step (its block's largest magnitude / 127) of the head, plus the fp16
    # rounding of the step times the largest code (127)
    head = lm.head.weight.detach().numpy()
    step = np.abs(head).reshape(64, 8, 32).max(-1, keepdims=True) / 127
    error = np.abs(tensor(paths["q8_0"], "output.weight") - head).reshape(64, 8, 32)
    assert (error <= step * (0.5 + 127 * 2 ** -11)).all() and error.max() > 0


def test_an_unknown_head_type_or_a_head_q8_0_cannot_block_is_refused(tmp_path):
    tokenizer = write_tokenizer(tmp_path / "t.json", 64)
    with pytest.raises(InputError, match=r"unknown head type 'q4_0'; accepted: \['bf16', 'f16', 'f32', 'q8_0'\]"):
        export_gguf(model(), tokenizer, tmp_path / "m.gguf", head_type="q4_0")
    with pytest.raises(InputError, match="multiple of 32; this model's are 48 long"):
        export_gguf(model(dim=48), tokenizer, tmp_path / "m.gguf", head_type="q8_0")
    assert not (tmp_path / "m.gguf").exists()


def test_vocabulary_types_mark_the_specials(tmp_path):
    tokens, types, specials = gguf_vocabulary(write_tokenizer(tmp_path / "t.json", 20))
    assert types[:5] == [int(gguf.TokenType.CONTROL)] * 5 and set(types[5:]) == {int(gguf.TokenType.NORMAL)}
    assert specials == {"bos": 2, "eos": 3, "unk": 1, "pad": 0, "mask": 4} and len(tokens) == 20


def test_rows_that_do_not_fit_a_tq_block_fall_back_and_say_why(tmp_path):
    out = tmp_path / "m.gguf"
    summary = export_gguf(model(dim=64), write_tokenizer(tmp_path / "t.json", 64), out)
    types = read_tensor_types(out)
    assert types["blk.0.attn_q.weight"] == "Q8_0"
    assert "not a multiple of 256" in summary.fallbacks["blk.0.attn_q.weight"]
    assert types["blk.0.ffn_down.weight"] == "TQ2_0"  # its rows are the padded hidden width, 256
    assert "blk.0.ffn_down.weight" not in summary.fallbacks


def test_an_fp32_model_exports_at_the_wide_type(tmp_path):
    out = tmp_path / "m.gguf"
    export_gguf(model(role=FP32_TWIN), write_tokenizer(tmp_path / "t.json", 64), out, "f32", "f32")
    assert set(read_tensor_types(out).values()) == {"F32"}


def test_models_outside_the_qwen2_graph_and_mismatched_tokenizers_are_refused(tmp_path):
    tokenizer = write_tokenizer(tmp_path / "t.json", 64)
    maskless = RoleModel.resolve("fp32", attention="bidirectional", positions="learned")
    with pytest.raises(InputError, match="rotary"):
        export_gguf(model(role=maskless), tokenizer, tmp_path / "m.gguf")
    with pytest.raises(InputError, match="65 tokens but the model's head has 64"):
        export_gguf(model(), write_tokenizer(tmp_path / "t65.json", 65), tmp_path / "m.gguf")
    assert not (tmp_path / "m.gguf").exists()  # nothing half-written


def test_cli_help_and_export(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "GGUF" in capsys.readouterr().out
    save_model(tmp_path / "model.safetensors", model(), {})
    summary = main([str(tmp_path), "--tokenizer", str(write_tokenizer(tmp_path / "t.json", 64)),
                    "--out", str(tmp_path / "m.gguf"), "--ternary-type", "tq1_0"])
    printed = capsys.readouterr().out
    assert "14 TQ1_0" in printed and "683 padded to 768" in printed
    assert summary.file_bytes == (tmp_path / "m.gguf").stat().st_size
    main([str(tmp_path), "--tokenizer", str(tmp_path / "t.json"), "--out", str(tmp_path / "q8.gguf"),
          "--head-type", "q8_0"])
    assert "1 Q8_0" in capsys.readouterr().out
    assert read_tensor_types(tmp_path / "q8.gguf")["output.weight"] == "Q8_0"
    with pytest.raises(SystemExit, match="tokenizer .* not found"):
        main([str(tmp_path), "--tokenizer", str(tmp_path / "absent.json"), "--out", str(tmp_path / "x.gguf")])
