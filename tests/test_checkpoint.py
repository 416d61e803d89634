"""pipeline/model/checkpoint.py: models round-trip with their role, resume files restore the exact state,
and unreadable or foreign files are told apart (nothing is ever unpickled)."""

import pytest
import torch

from pipeline.model.checkpoint import load_model, read_model_meta, save_model
from pipeline.training.resume import CorruptCheckpointError, load_resume_state, save_resume_state, set_aside
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


def _state(seed: int):
    torch.manual_seed(seed)
    model = TransformerLM(ARCH, 40)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 ** step)
    return model, optimizer, scheduler


def test_a_resume_file_restores_weights_optimizer_scheduler_and_rng(tmp_path):
    model, optimizer, scheduler = _state(0)
    model(torch.randint(0, 40, (2, 8))).sum().backward()
    optimizer.step()
    scheduler.step()
    save_resume_state(tmp_path / "r.safetensors", model, optimizer, scheduler, step=7, run_key="abc")
    expected_draw = torch.rand(3)
    other, other_optimizer, other_scheduler = _state(1)
    assert load_resume_state(tmp_path / "r.safetensors", other, other_optimizer, other_scheduler, "abc") == 7
    assert torch.equal(torch.rand(3), expected_draw)  # the generator continues where it was saved
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    assert other_scheduler.get_last_lr() == scheduler.get_last_lr()
    assert torch.equal(other_optimizer.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    # another run's file (other params or data) is not resumed
    assert load_resume_state(tmp_path / "r.safetensors", *_state(2), run_key="other") is None


def test_a_truncated_resume_file_is_reported_and_set_aside(tmp_path):
    model, optimizer, scheduler = _state(0)
    path = tmp_path / "r.safetensors"
    save_resume_state(path, model, optimizer, scheduler, step=1, run_key="abc")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptCheckpointError, match="unreadable"):
        load_resume_state(path, model, optimizer, scheduler, "abc")
    aside = set_aside(path)
    assert aside.name == "r.safetensors.corrupt" and not path.exists()
    assert load_resume_state(path, model, optimizer, scheduler, "abc") is None
