"""Domain-adversarial alignment: a domain classifier on the FPN features behind a gradient reversal."""
import pytest
import torch

from sim2real.errors import ConfigError
from tests.test_train_common import FAST, compose_train, shapes
from train.align import DomainAlign, ramp, reverse_grad


def test_gradient_reversal_and_its_ramp():
    x = torch.ones(3, requires_grad=True)
    reverse_grad(x, 0.5).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -0.5))
    assert ramp(0.0) == 0.0 and 0.46 < ramp(0.1) < 0.47 and ramp(1.0) > 0.999 and ramp(2.0) == ramp(1.0)


def test_the_classifier_reads_the_features_pattern_not_their_scale():
    # unbounded features let the backbone win the game by growing them: the classifier's loss
    # then rose without bound and its gradient swamped the detection losses (docs/benchmarks.md)
    torch.manual_seed(0)
    align = DomainAlign(16, weight=1.0)
    features = {"0": torch.randn(2, 16, 8, 8), "1": torch.randn(2, 16, 4, 4)}
    grown = {k: 1000.0 * f + 5.0 for k, f in features.items()}
    for small, large in zip(align.logits(features, 1.0), align.logits(grown, 1.0)):
        assert torch.allclose(small, large, atol=1e-4)
    assert align.logits(features, 1.0)[0].std() > 1e-3  # the pattern still tells locations apart


def test_the_backbone_learns_against_the_classifier_and_the_classifier_learns_with_it():
    from train.detectors import create

    torch.manual_seed(0)
    model = create("fcos_tiny", 2, 64)
    align = DomainAlign(model.backbone.out_channels, weight=1.0)
    renders, photos = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64) * 0.5

    def grads(coeff):
        model.zero_grad(), align.zero_grad()
        loss, accuracy = align(model.backbone(renders), model.backbone(photos), coeff)
        loss.backward()
        assert 0.0 <= float(accuracy) <= 1.0
        body = next(p for p in model.backbone.parameters() if p.grad is not None).grad.clone()
        return body, align.head[0].weight.grad.clone()

    body_reversed, head_reversed = grads(1.0)
    body_plain, head_plain = grads(-1.0)  # coeff -1: no reversal, the backbone helps the classifier
    assert body_reversed.abs().sum() > 0 and torch.allclose(body_reversed, -body_plain, atol=1e-6)
    assert torch.allclose(head_reversed, head_plain)  # the classifier itself always learns to tell them apart


def test_a_run_with_align_trains_the_classifier_beside_the_detector(tmp_path):
    from train.checkpoint import load_detector
    from train.run import run

    sim = shapes(tmp_path, "sim", num_images=8)
    photos = shapes(tmp_path, "photos", num_images=5, style="real", seed=5)
    test = shapes(tmp_path, "test", num_images=3, style="real", seed=3)
    common = [f"data.train=[{sim}]", f"data.test={test}", "plots=false", "slices=none", *FAST]
    result = run(compose_train(*common, f"align.source={photos}", "align.batch_size=3", f"out_dir={tmp_path / 'a'}"))
    state = torch.load(tmp_path / "a" / "checkpoints" / "merged" / "last.ckpt", weights_only=True)["state_dict"]
    assert any(k.startswith("align.head.") for k in state) and "test/map50" in result["metrics"]
    assert load_detector(tmp_path / "a").model is not None  # a checkpoint with a classifier still loads
    # the test photos are never aligned with, and bad settings fail before any work
    with pytest.raises(ConfigError, match="no photo outside the test sets"):
        run(compose_train(*common, f"align.source={test}", f"out_dir={tmp_path / 'b'}"))
    with pytest.raises(ConfigError, match="align.weight"):
        run(compose_train(*common, f"align.source={photos}", "align.weight=0", f"out_dir={tmp_path / 'c'}"))
    with pytest.raises(ConfigError, match="align.source"):
        run(compose_train(*common, f"align.source={tmp_path / 'nope'}", f"out_dir={tmp_path / 'd'}"))
    assert not any((tmp_path / d).exists() for d in "cd")


def test_the_photos_pass_leaves_the_batch_norm_statistics_to_the_renders():
    from train.detectors import create
    from train.module import running_batch_norm

    model = create("fcos_tiny", 2, 64).train()
    norms = [m for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    before = [m.running_mean.clone() for m in norms]
    with running_batch_norm(model.backbone):
        model.backbone(torch.rand(2, 3, 64, 64))
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, norms)) and all(m.training for m in norms)
    model.backbone(torch.rand(2, 3, 64, 64))  # outside, training updates them as usual
    assert not all(torch.equal(a, m.running_mean) for a, m in zip(before, norms))
