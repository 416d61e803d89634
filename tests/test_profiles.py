import shutil

import pytest
import yaml

from pipeline.config import ConfigError, parse_config
from pipeline.profiles import apply_profile, available, read_profile
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def params(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(PROJECT_ROOT / "params.yaml", path)
    return path


def test_default_profile_is_what_params_yaml_holds(params):
    before = params.read_text()
    apply_profile("default", params)
    assert params.read_text() == before


@pytest.mark.parametrize("name", ["local", "paper-code", "paper-text", "paper-code-local"])
def test_each_profile_applies_validates_and_switches_back(params, name):
    original = params.read_text()
    applied = apply_profile(name, params)
    assert applied["profile"] == name
    parse_config(applied)
    assert "# The single source of truth" in params.read_text()  # comments survive
    apply_profile("default", params)
    assert yaml.safe_load(params.read_text()) == yaml.safe_load(original)


def test_paper_profiles_hold_the_recipes(params):
    code = parse_config(apply_profile("paper-code", params))
    assert (code.model.arch.dim, code.model.arch.n_layers, code.model.arch.seq_len) == (768, 12, 128)
    assert (code.train.batch_size, code.train.epochs, code.train.schedule, code.train.optimizer.lr) == \
        (32, 15, "onecycle", 3e-4)
    assert code.train.warmup_fraction == 0.1 and code.data.max_train_stories == 60000
    assert code.tokenizer.kind == "bert_hub" and code.train.label_smoothing == 0.1
    text = parse_config(apply_profile("paper-text", params))
    assert (text.train.schedule, text.train.optimizer.lr, text.train.warmup_steps) == ("cosine", 1e-3, 1000)
    assert (text.train.batch_size, text.model.arch.seq_len) == (64, 512)


def test_every_profile_applies_and_strays_are_refused(params, monkeypatch):
    assert set(available()) >= {"default", "local", "paper-code", "paper-text"}
    for name in available():
        parse_config(apply_profile(name, params))
    stray = read_profile("local") | {"benchmark": {"repeats": 1}}  # a key default.yaml does not reset
    monkeypatch.setattr("pipeline.profiles.read_profile",
                        lambda name: stray if name == "local" else read_profile(name))
    with pytest.raises(ConfigError, match=r"benchmark\.repeats"):
        apply_profile("local", params)


def test_unknown_profile_names_the_choices(params):
    with pytest.raises(ConfigError, match="available: cpu-study, default"):
        apply_profile("paper", params)


def test_overrides_apply_after_the_profile(params):
    from pipeline.profiles import parse_overrides

    applied = apply_profile("paper-code-local", params, parse_overrides(["train.seeds=[0]", "train.precision=bf16"]))
    assert applied["train"]["seeds"] == [0] and applied["train"]["precision"] == "bf16"
    assert applied["tokenizer"]["kind"] == "bert_vocab_file" and applied["data"]["source"] == "local"
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["train.seeds"])
