import pytest

from pipeline.config import ConfigError, load_config, parse_config
from tests.conftest import PROJECT_ROOT, deep_update, raw_params


def test_project_params_are_valid():
    cfg = load_config(PROJECT_ROOT / "params.yaml")
    assert cfg.model.quant == "ternary"


@pytest.mark.parametrize("overrides, key, hint", [
    ({"model": {"quant": "ternery"}}, "model.quant", "'ternary', 'binary' or 'fp32'"),
    ({"model": {"baseline": {"attention": "none"}}}, "model.baseline.attention", "'causal' or 'bidirectional'"),
    ({"arms": {"run": ["nope"]}}, "arms", "not defined in arms.defs"),
    ({"arms": {"defs": {"x": {"roles": ["studied"], "changes": {"model.widht": 3}, "note": "n"}}}},
     "arms.defs.x.changes", "'model.widht' is not a params key"),
    ({"model": {"arch": {"dim": 0}}}, "model.arch.dim", "greater than 0"),
    ({"model": {"arch": "papr"}}, "model.arch", "unknown architecture preset 'papr'; presets: paper, "),
    ({"train": {"optimizer": {"lr": -1e-3}}}, "train.optimizer.lr", "greater than 0"),
    ({"train": {"seeds": []}}, "train.seeds", "at least 1"),
    ({"model": {"scale": "median"}}, "model.scale", "'absmean' or 'learned'"),
    ({"data": {"source": "s3"}}, "data.source", "'synthetic', 'local' or 'hub'"),
    ({"train": {"batchsize": 4}}, "train.batchsize", "unknown key"),
    ({"train": {"checkpoint_every": 7}}, "train", "multiple of log_every"),
    ({"train": {"processes": 3}}, "train", "divide evenly over processes"),
    ({"train": {"optimizer": {"betas": [0.9, 1.5]}}}, "train.optimizer", "betas must each lie in [0, 1)"),
    ({"train": {"eval_tokens": 8}}, "eval_tokens", "at least model.arch.seq_len"),
    ({"sparsity": {"middle_band": [0.8, 0.4]}}, "sparsity", "0 <= low <= high <= 1"),
    ({"train": {"seeds": [0]}}, "glue.seeds [0, 1, 2]", "must be distinct seeds of train.seeds [0]"),
    ({"glue": {"seeds": [1, 1]}}, "glue.seeds [1, 1]", "must be distinct seeds of train.seeds"),
    ({"glue": {"seeds": []}}, "glue.seeds []", "(at least one)"),
    ({"glue": {"epochs": {"mrpc": 0, "sst2": 1, "cola": 1}}}, "glue.epochs", "greater than 0"),
])
def test_bad_values_name_the_key_and_accepted_values(overrides, key, hint):
    with pytest.raises(ConfigError) as error:
        parse_config(deep_update(raw_params(), overrides))
    assert key in str(error.value) and hint in str(error.value)


def test_glue_seeds_default_to_the_main_seeds_where_params_predate_them():
    raw = raw_params()
    assert parse_config(raw).glue_seeds == [0, 1, 2]
    del raw["glue"]["seeds"]
    raw["train"]["seeds"] = [3, 4]
    assert parse_config(raw).glue_seeds == [3, 4]  # an archive's params from before glue.seeds existed
    raw["glue"]["seeds"] = [4]
    assert parse_config(raw).glue_seeds == [4]


def test_glue_epochs_are_one_number_or_one_per_task():
    raw = raw_params()
    raw["glue"]["epochs"] = {"mrpc": 1, "sst2": 2, "cola": 3}
    assert [parse_config(raw).glue.task_epochs(task) for task in ("mrpc", "sst2", "cola")] == [1, 2, 3]
    raw["glue"]["epochs"] = 4
    assert parse_config(raw).glue.task_epochs("cola") == 4
    raw["glue"]["epochs"] = {"mrpc": 1}
    with pytest.raises(ConfigError, match=r"epochs names no value for \['cola', 'sst2'\]: give one per task"):
        parse_config(raw)


def test_missing_key_is_named():
    raw = raw_params()
    del raw["train"]["batch_size"]
    with pytest.raises(ConfigError, match=r"train\.batch_size: missing"):
        parse_config(raw)


def test_missing_params_file_says_what_to_do(tmp_path):
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path / "params.yaml")


def test_quantizer_names_match_the_quantizers():
    from typing import get_args

    from pipeline.config import QuantName
    from pipeline.model.quant import QUANTIZERS

    assert set(get_args(QuantName)) == set(QUANTIZERS)


def test_arm_changes_apply_on_top_of_the_params():
    cfg = load_config(PROJECT_ROOT / "params.yaml")
    arm = cfg.arm_config("maskless_baseline")
    assert arm.model.for_role("baseline").attention == "bidirectional"
    assert arm.model.for_role("studied") == cfg.model.for_role("studied")
    assert arm.arms.defs == {}


def test_yaml_12_floats_without_a_dot_are_floats():
    """ruamel (and DVC) write 0.00002 as 2e-05, which PyYAML's YAML 1.1 rules read as a string."""
    from pipeline.config import parse_yaml

    assert parse_yaml("lr: 2e-05\nsteps: 32\n") == {"lr": 2e-05, "steps": 32}


def test_an_architecture_preset_is_named_once_and_resolves_by_name():
    from pipeline.config import ARCH_PRESETS, ArchConfig
    from pipeline.paper import PAPER_ARCH

    cfg = parse_config(deep_update(raw_params(), {"model": {"arch": "paper"}}))
    assert cfg.model.arch == PAPER_ARCH == ARCH_PRESETS["paper"]
    assert (PAPER_ARCH.dim, PAPER_ARCH.n_layers, PAPER_ARCH.n_heads, PAPER_ARCH.seq_len) == (768, 12, 12, 128)
    assert ArchConfig.from_name("paper", seq_len=512) == ARCH_PRESETS["paper-text"]
    with pytest.raises(ValueError, match="must be a multiple of n_heads"):  # changes are validated
        ArchConfig.from_name("tiny", n_heads=3)
