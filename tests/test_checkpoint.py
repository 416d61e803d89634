"""pipeline/model/checkpoint.py: models round-trip with their role and weights (nothing is ever unpickled)."""

import pytest
import torch

from pipeline.model.checkpoint import load_model, read_model_meta, save_model
from pipeline.config import ArchConfig, RoleModel
from pipeline.errors import MissingInputError
from pipeline.model.transformer import TransformerLM

ARCH = ArchConfig.from_name("tiny", dropout=0.0, seq_len=8)


def test_a_model_comes_back_with_its_role_and_weights(tmp_path):
    torch.manual_seed(0)
    role = RoleModel.resolve("ternary", "learned", 8, init_std=1.0)
    model = TransformerLM(ARCH, 40, role)
    save_model(tmp_path / "m.safetensors", model, {"seed": 3})
    loaded, meta = load_model(tmp_path / "m.safetensors")
    assert loaded.role == role and meta["seed"] == 3 and meta["quant"] == "ternary" and meta["vocab_size"] == 40
    ids = torch.randint(0, 40, (2, 8))
    assert torch.equal(loaded(ids), model.eval()(ids))
    assert read_model_meta(tmp_path / "m.safetensors")["arch"] == ARCH.model_dump()
    with pytest.raises(MissingInputError, match="run the train stage"):
        load_model(tmp_path / "absent.safetensors")
