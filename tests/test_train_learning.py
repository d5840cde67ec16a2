"""A detector trained on an easy tiny set scores clearly above an untrained one (real training)."""
from __future__ import annotations

from tests.test_train_common import compose_train, shapes
from train.run import run


def test_training_beats_untrained(tmp_path):
    easy = dict(classes=("square",), max_objects=1)
    train = shapes(tmp_path, "train", num_images=32, seed=11, **easy)
    test = shapes(tmp_path, "test", num_images=8, seed=12, **easy)
    common = [f"data.test={test}", "data.val_fraction=0", "logger=none", "plots=false", "slices=none",
              "trainer.enable_progress_bar=false", "data.batch_size=4", "num_threads=2", "early_stopping.patience=null",
              "data.augment.enabled=false"]
    untrained = run(compose_train("data.train=[]", f"out_dir={tmp_path / 'untrained'}", *common))
    trained = run(compose_train(f"data.train=[{train}]", f"out_dir={tmp_path / 'trained'}", "trainer.max_epochs=10",
                                *common))
    before, after = untrained["metrics"]["test/map50"] or 0.0, trained["metrics"]["test/map50"] or 0.0
    # measured on the shared box: 0.00 untrained -> 0.20 after 10 epochs (80 steps of 4)
    assert after > 0.1 and after > before + 0.1, (before, after)
