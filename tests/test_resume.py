"""pipeline/training/resume.py: resume files restore the exact state with the curves they carry; unreadable,
foreign and ill-fitting files are told apart (nothing is ever unpickled)."""

import pytest
import torch

from pipeline.config import ArchConfig
from pipeline.model.transformer import TransformerLM
from pipeline.training.resume import CorruptCheckpointError, ResumePoint, load_resume_state, save_resume_state, set_aside

ARCH = ArchConfig.from_name("tiny", dropout=0.0, seq_len=8)


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
    curves = {"plots/metrics/train/loss.tsv": "step\tloss\n2\t5.0\n", "metrics.json": "{}\n"}
    save_resume_state(tmp_path / "r.safetensors", model, optimizer, scheduler, step=7, run_key="abc", curves=curves)
    expected_draw = torch.rand(3)
    other, other_optimizer, other_scheduler = _state(1)
    assert load_resume_state(tmp_path / "r.safetensors", other, other_optimizer, other_scheduler, "abc") == \
        ResumePoint(step=7, curves=curves)
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


def test_a_resume_file_that_does_not_fit_is_refused_before_anything_is_restored(tmp_path):
    model, optimizer, scheduler = _state(0)
    path = tmp_path / "r.safetensors"
    save_resume_state(path, model, optimizer, scheduler, step=3, run_key="abc")
    wider = TransformerLM(ARCH.model_copy(update={"dim": ARCH.dim * 2}), 40)
    before = {k: v.clone() for k, v in wider.state_dict().items()}
    wider_optimizer = torch.optim.AdamW(wider.parameters(), lr=1e-3)
    with pytest.raises(CorruptCheckpointError, match="does not fit this run"):
        load_resume_state(path, wider, wider_optimizer, torch.optim.lr_scheduler.LambdaLR(wider_optimizer, lambda s: 1.0),
                          "abc")
    assert all(torch.equal(before[k], v) for k, v in wider.state_dict().items())  # nothing half-loaded
    other_vocab = TransformerLM(ARCH, 41)
    other_optimizer = torch.optim.AdamW(other_vocab.parameters(), lr=1e-3)
    with pytest.raises(CorruptCheckpointError, match="tok_emb|head|embed"):
        load_resume_state(path, other_vocab, other_optimizer,
                          torch.optim.lr_scheduler.LambdaLR(other_optimizer, lambda s: 1.0), "abc")
