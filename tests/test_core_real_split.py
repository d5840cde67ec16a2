"""data.split: one labelled set cut once, by blocks, into a training pool and a test split."""
import json

import pytest

from sim2real.errors import ConfigError
from sim2real.real_split import SplitRule, split_indices


def test_blocks_stay_on_one_side_and_the_split_is_reproducible():
    train, test = split_indices(100, SplitRule(test_fraction=0.5, block=10, seed=0))
    assert sorted(train + test) == list(range(100)) and len(test) == 50
    for block in range(10):
        members = set(range(10 * block, 10 * block + 10))
        assert members <= set(train) or members <= set(test)  # neighbouring frames never straddle
    assert (train, test) == split_indices(100, SplitRule(test_fraction=0.5, block=10, seed=0))
    assert (train, test) != split_indices(100, SplitRule(test_fraction=0.5, block=10, seed=1))


def test_a_split_needs_two_blocks_and_a_fraction_inside_zero_one():
    with pytest.raises(ConfigError, match="need two"):
        split_indices(10, SplitRule(block=10))
    with pytest.raises(ConfigError, match="test_fraction"):
        split_indices(10, SplitRule(test_fraction=1.0))
    train, test = split_indices(3, SplitRule(test_fraction=0.9, block=1))
    assert len(train) >= 1 and len(test) >= 1  # both sides keep at least one block


def test_the_pipeline_splits_a_bop_set_and_records_it(tmp_path):
    from tests.conftest import run_cli
    from tests.realsets import squares, write_bop

    root = write_bop(tmp_path / "bop", squares(8, seed=4), ids={"tin": 1, "bottle": 2})
    out = tmp_path / "run"
    result = run_cli("sim2real", "experiment=smoke", f"data.split.source={root}", "data.split.block=2",
                     "data.names={1: tin, 2: bottle}", "render.scene=drink_containers", "data.classes=[can,bottle]",
                     "data.class_map={can_330ml: can, can_500ml: can, pet_bottle: bottle, tin: can}",
                     "train.mixes=[real100]", f"out_dir={out}", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    split = json.loads((out / "data" / "split.json").read_text())
    assert len(split["train"]) + len(split["test"]) == 8 and split["rule"] == {"test_fraction": 0.5, "block": 2, "seed": 0}
    assert not set(split["train"]) & set(split["test"])
    for key, side in (("real_train", "train"), ("real_test", "test")):
        ann = json.loads((out / "data" / f"{key}_imported" / "annotations.json").read_text())
        assert [i["meta"]["source_file"] for i in ann["images"]] == split[side]
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["detector.real100.map50"] <= 1.0
