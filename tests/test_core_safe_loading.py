"""Checkpoints handed over by a user, or found in a folder, load as weights only: a pickle
payload planted in one never runs, and the error is one line naming the file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from sim2real.errors import Sim2RealError
from tests.test_refiner_run import _cfg as refine_cfg
from tests.test_train_common import FAST, compose_train, shapes


class Payload:
    """Unpickling this runs ``touch <marker>``: what a crafted checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def plant(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {"weight": Payload(marker)}, "refiner_name": "fastcut"}, path)
    return path


def test_a_refiner_checkpoint_with_a_payload_is_refused_without_running_it(tmp_path):
    from refiner.run import run
    from sim2real.synthetic import make_image_folder, make_shapes_dataset

    make_shapes_dataset(tmp_path / "sim", num_images=4, size=32, style="sim")
    make_image_folder(tmp_path / "real", num_images=4, size=32)
    marker = tmp_path / "payload_ran"
    ckpt = plant(tmp_path / "given.ckpt", marker)
    with pytest.raises(Sim2RealError, match="given.ckpt: not a refiner checkpoint that loads as plain weights") as err:
        run(refine_cfg(tmp_path, tmp_path / "refined", "train=false", f"ckpt_path={ckpt}"))
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_a_planted_done_json_cannot_load_a_payload(tmp_path):
    from train.run import run

    data = shapes(tmp_path, "sim")
    out = tmp_path / "det"
    marker = tmp_path / "payload_ran"
    run(compose_train(*FAST, "data.val_fraction=0", f"data.train=[{data}]", f"data.test={data}", f"out_dir={out}"))  # a run of this config
    stage = out / "checkpoints" / "merged"
    ckpt = plant(stage / "best.ckpt", marker)
    (stage / "done.json").write_text(json.dumps({"weights": str(ckpt)}))
    with pytest.raises(Sim2RealError, match="best.ckpt: not a detector checkpoint") as err:
        run(compose_train(*FAST, "data.val_fraction=0", f"data.train=[{data}]", f"data.test={data}", f"out_dir={out}", "ckpt_path=last"))
    assert "\n" not in str(err.value) and not marker.exists()

    outside = plant(tmp_path / "elsewhere.ckpt", marker)
    (stage / "done.json").write_text(json.dumps({"weights": str(outside)}))
    with pytest.raises(Sim2RealError, match="names weights outside its phase folder"):
        run(compose_train(*FAST, "data.val_fraction=0", f"data.train=[{data}]", f"data.test={data}", f"out_dir={out}", "ckpt_path=last"))
    assert not marker.exists()
