"""Self-training: the detector labels unlabelled real photos and trains on its confident boxes."""
import pytest

from sim2real.errors import ConfigError
from train.plan import Part
from train.pseudo import phase_weights
from tests.test_train_common import FAST, compose_train, shapes


def test_stage_shares():
    syn, real, pseudo = Part("sim", [1], []), Part("real", [1], [], real=True), Part("pseudo", [1], [], real=True)
    parts, weights = phase_weights([syn, real], pseudo, pseudo_share=0.5, synthetic_share=0.3)
    assert parts == [syn, real, pseudo] and weights == pytest.approx([0.3, 0.2, 0.5])
    parts, weights = phase_weights([syn], pseudo, pseudo_share=0.5, synthetic_share=0.3)
    assert parts == [syn, pseudo] and weights == pytest.approx([0.3, 0.7])  # no labelled photos: pseudo takes the rest
    with pytest.raises(ConfigError, match="exceed 1"):
        phase_weights([syn, real], pseudo, pseudo_share=0.8, synthetic_share=0.3)


def test_self_training_labels_unseen_photos_only(tmp_path):
    from train.run import run

    sim = shapes(tmp_path, "sim", num_images=8)
    photos = shapes(tmp_path, "photos", num_images=6, style="real", seed=5)
    test = shapes(tmp_path, "test", num_images=4, style="real", seed=3)
    common = [f"data.train=[{sim}]", "plots=false", "slices=none", "data.val_fraction=0", *FAST,
              "pseudo.threshold=0.06", "pseudo.max_epochs=1"]
    result = run(compose_train(*common, f"data.test={test}", f"pseudo.source={photos}", f"out_dir={tmp_path / 'a'}"))
    stats = result["info"]["pseudo"][0]
    assert stats["photos"] == 6 and stats["photos_labelled"] >= 1 and stats["boxes"] >= stats["photos_labelled"]
    assert result["info"]["checkpoints"]["pseudo1"]
    # the test photos themselves are never pseudo-labelled
    again = run(compose_train(*common, f"data.test={test}", f"pseudo.source={test}", f"out_dir={tmp_path / 'b'}"))
    assert again["info"]["pseudo"][0]["photos"] == 0 and "pseudo1" not in again["info"]["checkpoints"]
    with pytest.raises(ConfigError, match="pseudo.threshold"):
        run(compose_train(*common, f"pseudo.source={photos}", "pseudo.threshold=1.5", f"out_dir={tmp_path / 'c'}"))
