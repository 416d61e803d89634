import shutil

import pytest
import yaml

from pipeline.config import ConfigError, load_config, parse_config
from pipeline.profiles import apply_profile, available, read_profile
from tests.conftest import PROJECT_ROOT, raw_params


@pytest.fixture
def params(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(PROJECT_ROOT / "params.yaml", path)
    return path


def test_default_profile_is_what_params_yaml_holds(params):
    before = params.read_text()
    apply_profile("default", params)
    assert params.read_text() == before


@pytest.mark.parametrize("name", ["local", "paper-code", "paper-text", "paper-code-local", "paper-code-fixed",
                                  "cpu-study"])
def test_each_profile_applies_validates_and_switches_back(params, name):
    original = params.read_text()
    applied = apply_profile(name, params)
    assert applied["profile"] == name
    parse_config(applied)
    assert "# The single source of truth" in params.read_text()  # comments survive
    apply_profile("default", params)
    assert params.read_text() == original  # byte for byte: values, comments and their alignment


def test_profiles_name_their_architecture_and_params_yaml_gets_its_fields(params):
    from pipeline.config import ARCH_PRESETS

    for name in available():  # the architecture is written in ARCH_PRESETS, never in a profile
        text = (PROJECT_ROOT / "profiles" / f"{name}.yaml").read_text()
        assert yaml.safe_load(text).get("model", {}).get("arch") in (None, *ARCH_PRESETS), name
    apply_profile("cpu-study", params)
    assert yaml.safe_load(params.read_text())["model"]["arch"] == ARCH_PRESETS["cpu-study"].model_dump()
    apply_profile("default", params, {"model": {"arch": "paper"}})  # what --set model.arch=paper gives
    assert yaml.safe_load(params.read_text())["model"]["arch"]["dim"] == 768
    with pytest.raises(ConfigError, match="--set: model.arch: unknown architecture preset 'papr'"):
        apply_profile("default", params, {"model": {"arch": "papr"}})


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

    applied = apply_profile("paper-code-local", params, parse_overrides(["train.seeds=[0]", "glue.seeds=[0]",
                                                                        "train.precision=bf16"]))
    assert applied["train"]["seeds"] == [0] and applied["train"]["precision"] == "bf16"
    assert applied["tokenizer"]["kind"] == "bert_vocab_file" and applied["data"]["source"] == "local"
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["train.seeds"])


PAPER_TOKENS = {"data_source": "hub", "vocab_size": 30522, "train_stories": 60000}


def test_paper_code_turns_on_every_notebook_quirk(params):
    code = parse_config(apply_profile("paper-code", params))
    assert code.model.for_role("studied").init_std == 1.0
    baseline = code.model.for_role("baseline")
    assert (baseline.attention, baseline.positions, baseline.init_std) == ("bidirectional", "learned", 0.02)
    assert code.train.sequences == "stream" and code.tokenizer.story_wrap == "cls_sep" and code.train.cycle_momentum is True


def test_paper_code_fixed_differs_only_in_the_fixes(params):
    from pipeline.profiles import _flatten

    code = _flatten(apply_profile("paper-code", params))
    fixed = _flatten(apply_profile("paper-code-fixed", params))
    differing = {key for key in code.keys() | fixed.keys() if code.get(key) != fixed.get(key)}
    assert differing == {"profile", "model.init_std", "model.baseline.attention", "model.baseline.positions"}
    assert (fixed["model.init_std"], fixed["model.baseline.attention"], fixed["model.baseline.positions"]) == \
        (0.02, "causal", "rope")


@pytest.mark.parametrize("name", ["paper-code", "paper-code-fixed"])
def test_run_context_labels_paper_training_only_on_the_full_recipe(params, name):
    from pipeline.analysis.claims import PAPER_MODEL, PAPER_TRAINING
    from pipeline.analysis.summarize import run_context

    cfg = parse_config(apply_profile(name, params))
    context = run_context(cfg, PAPER_TOKENS, {})
    assert context[PAPER_TRAINING] and context[PAPER_MODEL] and context["recipe"] == name
    assert context["scale_label"] == "paper scale"
    # one recipe key off (the learning rate) and it is no longer the paper's training
    off = parse_config(apply_profile(name, params, {"train": {"optimizer": {"lr": 1e-3}}}))
    context = run_context(off, PAPER_TOKENS, {})
    assert not context[PAPER_TRAINING] and context["recipe_mismatches"] == ["train.optimizer.lr"]
    # fewer stories than the notebook's 60,000
    assert not run_context(cfg, PAPER_TOKENS | {"train_stories": 2316}, {})[PAPER_TRAINING]


def test_run_context_of_the_default_names_what_differs(params):
    from pipeline.analysis.claims import PAPER_TRAINING, REAL_DATA
    from pipeline.analysis.summarize import run_context

    cfg = parse_config(apply_profile("default", params))
    context = run_context(cfg, {"data_source": "synthetic", "vocab_size": 290, "train_stories": 3000}, {})
    assert not context[REAL_DATA] and not context[PAPER_TRAINING] and context["recipe"] == "other"
    assert {"train.cycle_momentum", "train.epochs"} <= set(context["recipe_mismatches"])


def test_the_notebook_pair_and_its_fixed_twin_differ_only_in_the_two_bugs():
    """The notebook pair of the regime map: the fixed twin changes the ternary init (1.0 -> 0.02) and
    gives the baseline its causal mask, nothing else (issue 22)."""
    defs = raw_params()["arms"]["defs"]
    notebook, fixed = defs["notebook_pair"]["changes"], defs["notebook_fixed"]["changes"]
    assert set(notebook) == set(fixed)
    differing = {key: (notebook[key], fixed[key]) for key in notebook if notebook[key] != fixed[key]}
    assert differing == {"model.init_std": (1.0, 0.02), "model.baseline.attention": ("bidirectional", "causal")}


def test_the_regime_map_profile_trains_every_cell_of_the_minimum_grid_at_three_seeds(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text((PROJECT_ROOT / "params.yaml").read_text())
    apply_profile("regime-map", params)
    cfg = load_config(params)
    cells = {(cfg.model.arch.dim, cfg.train.max_stories)}
    cells |= {(cfg.arm_config(arm).model.arch.dim, cfg.arm_config(arm).train.max_stories)
              for arm in cfg.arms.run if arm.startswith("w")}
    assert cells == {(64, 200), (64, 1000), (128, 200), (128, 1000)}
    assert len(cfg.train.seeds) == len(cfg.arms.seeds) == 3
    assert {"notebook_pair", "notebook_fixed"} <= set(cfg.arms.run)
    assert all(cfg.arm_config(arm).train.schedule == "constant" for arm in cfg.arms.run if arm.startswith("w"))


def _baseline_recipe(profile: str, arm: str, tmp_path) -> dict:
    """What ``arm``'s FP32 baseline trains with under ``profile``: its model, architecture and recipe."""
    params = tmp_path / f"{profile}.yaml"
    params.write_text((PROJECT_ROOT / "params.yaml").read_text())
    apply_profile(profile, params)
    cfg = load_config(params).arm_config(arm)
    return {"model": cfg.model.for_role("baseline").model_dump(),
            "arch": cfg.model.arch_for("baseline").model_dump(),
            "train": cfg.train.for_role("baseline").model_dump(exclude={"seeds"}),
            "data": cfg.data.model_dump(), "tokenizer": cfg.tokenizer.model_dump()}


def _differences(one: dict, other: dict) -> dict:
    return {f"{section}.{key}": (one[section][key], other[section][key])
            for section in one if isinstance(one[section], dict)
            for key in one[section] if one[section][key] != other[section][key]}


def test_the_leak_attempts_are_the_notebook_pairs_baseline_wider_or_longer_and_nothing_else(tmp_path):
    """Issue 22's attempts to make the leak act: the regime map's notebook_pair baseline, trained the
    same way on the same data, with only the width (and heads) or the number of epochs changed."""
    notebook = _baseline_recipe("regime-map", "notebook_pair", tmp_path)
    wide = _baseline_recipe("leak-attempts", "leak_wide", tmp_path)
    long = _baseline_recipe("leak-attempts", "leak_long", tmp_path)
    assert _differences(notebook, wide) == {"arch.dim": (64, 128)}  # 4 heads at both widths
    assert _differences(notebook, long) == {"train.epochs": (9, 27)}
    assert wide["model"]["attention"] == "bidirectional" and wide["model"]["positions"] == "learned"
    defs = raw_params()["arms"]["defs"]
    assert all(defs[arm]["roles"] == ["baseline"] for arm in ("leak_wide", "leak_long"))
