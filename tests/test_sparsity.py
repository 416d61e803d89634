"""pipeline/analysis/sparsity.py: the zero fractions that feed the sparsity claims, on weights whose answer is known."""

import math

import pandas as pd
import pytest
import torch

from pipeline.config import ArchConfig
from pipeline.model.transformer import PAPER_TERNARY, TransformerLM
from pipeline.metrics import GAUSSIAN_TWN_ZERO_FRACTION, GAUSSIAN_ZERO_FRACTION
from pipeline.analysis.sparsity import CURVE_COLUMNS, run_sparsity, sparsity_curves
from pipeline.model.stats import depth_summary, layer_statistics, middle_layers, weighted_zero_pct


def test_gaussian_reference_levels():
    assert GAUSSIAN_ZERO_FRACTION == pytest.approx(0.3101, abs=1e-4)
    assert GAUSSIAN_TWN_ZERO_FRACTION == pytest.approx(0.4235, abs=1e-4)  # the 42.4%


def test_the_default_band_gives_the_papers_middle_layers():
    assert middle_layers(12, (0.4, 0.75)) == [5, 6, 7, 8, 9]
    assert middle_layers(4, (0.4, 0.75)) == [2, 3]


def test_weighted_zero_percentage_weighs_layers_by_their_size():
    stats = pd.DataFrame({"zero": [0.5, 0.2], "weights": [100, 300]})
    assert weighted_zero_pct(stats) == pytest.approx((50 + 60) / 400 * 100)
    assert math.isnan(weighted_zero_pct(stats.iloc[:0]))


@pytest.fixture
def gaussian_model():
    torch.manual_seed(0)
    # the study's 12 layers (so the middle band is L5-L9), wide enough that 31.0% comes out tight
    arch = ArchConfig.from_name("cpu-study", dim=128, dropout=0.0, seq_len=16)
    return TransformerLM(arch, 50, PAPER_TERNARY)


def test_an_untrained_gaussian_model_sits_at_the_reference_levels(gaussian_model):
    stats = layer_statistics(gaussian_model)
    assert len(stats) == 12 * 7 and stats["layer"].min() == 1 and stats["layer"].max() == 12
    assert stats["zero"].mean() == pytest.approx(GAUSSIAN_ZERO_FRACTION, abs=0.005)
    assert stats["zero_twn"].mean() == pytest.approx(GAUSSIAN_TWN_ZERO_FRACTION, abs=0.005)
    assert (stats["zero"] + stats["neg"] + stats["pos"]).round(6).eq(1.0).all()
    summary = depth_summary(stats, (0.4, 0.75))
    # no depth structure in random weights: middle and boundary agree within sampling noise
    assert abs(summary["zero_pct_middle"] - summary["zero_pct_boundary"]) < 0.3
    assert summary["zero_pct_all"] == pytest.approx(31.0, abs=0.3)


def test_run_sparsity_keys_name_arm_role_and_seed(gaussian_model):
    stats = layer_statistics(gaussian_model)
    table, summary = run_sparsity([((None, "studied", 0), stats, 0.0),
                                   (("notebook_init", "studied", 1), stats, None)], (0.4, 0.75))
    assert summary["studied_seed_0_code_change_fraction"] == 0.0
    assert "arm_notebook_init_studied_seed_1_code_change_fraction" not in summary
    assert summary["middle_layers"] == [5, 6, 7, 8, 9]
    assert summary["studied_seed_0_zero_pct_middle"] == summary["arm_notebook_init_studied_seed_1_zero_pct_middle"]
    assert set(table["arm"]) == {"main", "notebook_init"} and len(table) == 2 * 84


def test_the_initial_model_is_rebuilt_from_the_seed_and_training_changes_codes(tmp_path, tiny_config):
    """initial_model gives back exactly what training started from (the same draws from the seed), so
    the code-change share is 0 for an untrained run and positive once it has taken steps."""
    from pipeline.data.prepare import load_corpus, write_corpus
    from pipeline.data.tokenize import tokenize_corpus
    from pipeline.layout import RunPaths
    from pipeline.model.checkpoint import initial_model, load_model
    from pipeline.training.optim import seed_everything
    from pipeline.training.train import train_language_model
    from pipeline.model.transformer import code_change_fraction

    write_corpus(load_corpus(tiny_config.data, tiny_config.glue.tasks), tmp_path / "prepared")
    tokenize_corpus(tiny_config.tokenizer, tmp_path / "prepared", tmp_path / "tokens")
    paths = RunPaths.for_run("studied", 3, tmp_path)
    train_language_model(tiny_config, "studied", 3, tmp_path / "tokens", paths)
    trained, meta = load_model(paths.model)
    seed_everything(3, 1)
    from pipeline.model.transformer import TransformerLM
    from pipeline.config import ArchConfig, RoleModel
    fresh = TransformerLM(ArchConfig(**meta["arch"]), meta["vocab_size"], RoleModel(**meta["role"]))
    rebuilt = initial_model(meta)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), rebuilt.state_dict().values()))
    assert code_change_fraction(rebuilt, initial_model(meta)) == 0.0
    changed = code_change_fraction(trained, rebuilt)
    # 12 small steps move few codes; an initialisation other than the run's would differ in about 2 of 3
    assert 0.0 < changed < 0.3, changed


def test_layer_statistics_survive_the_run_folders_csv_exactly(gaussian_model, tmp_path):
    """The train stage writes layers.csv and the sparsity stage reads it back: every float must come
    back bit for bit, or the sparsity tables would differ from statistics of the checkpoint."""
    stats = layer_statistics(gaussian_model)
    stats.to_csv(tmp_path / "layers.csv", index=False)
    back = pd.read_csv(tmp_path / "layers.csv")
    pd.testing.assert_frame_equal(back, stats, check_exact=True)


def test_sparsity_curves_average_the_seeds_per_epoch_in_first_seen_order():
    runs = pd.DataFrame({
        "run_set": ["main"] * 4 + ["w64_s1000"] * 2, "seed": [0, 0, 1, 1, 0, 0], "epoch": [1, 2, 1, 2, 1, 2],
        "step": [10, 20, 10, 20, 40, 80], "zero_pct": [31.0, 32.0, 33.0, 34.0, 31.0, 35.0],
        "zero_pct_middle": [31.0, 33.0, 33.0, 36.0, 31.0, 36.0], "zero_pct_boundary": [31.0, 31.0, 33.0, 32.0, 31.0, 34.0]})
    curves = sparsity_curves(runs.iloc[[4, 5, 0, 1, 2, 3]])  # run sets keep the order they come in
    assert list(curves.columns) == CURVE_COLUMNS
    assert curves["run_set"].tolist() == ["w64_s1000", "w64_s1000", "main", "main"]
    main = curves[curves["run_set"] == "main"].set_index("epoch")
    assert main.loc[2, "zero_pct"] == 33.0 and main.loc[2, "seeds"] == 2 and main.loc[2, "step"] == 20
    assert main.loc[2, "middle_minus_boundary"] == pytest.approx(((33 - 31) + (36 - 32)) / 2)
    assert sparsity_curves(pd.DataFrame()).empty
