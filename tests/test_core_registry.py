"""One registry idiom (sim2real/registry.py) for scenes, refiners and detectors."""
import pytest
from hydra.core.config_store import ConfigStore

from sim2real.app import CONF_DIR
from sim2real.errors import ConfigError
from sim2real.registry import Registry


def test_register_create_and_unknown_names():
    reg = Registry("widget", key="widget.name")

    @reg.register("square", sides=4)
    def square(size: int = 1) -> str:
        """A square."""
        return f"square {size}"

    assert reg.names() == ["square"] and "square" in reg
    assert reg.create("square", size=3) == "square 3"
    assert reg.get("square").info == {"sides": 4} and reg.get("square").description == "A square."
    with pytest.raises(ConfigError, match=r"widget.name: unknown widget 'circle'; choose one of \['square'\]"):
        reg.create("circle")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("square")(square)


def test_a_schema_takes_keywords_and_refuses_unknown_ones():
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        name: str = "box"
        width: int = 2

    reg = Registry("box", key="box.name")
    reg.register("box", schema=Cfg)(lambda cfg: cfg.width)
    assert reg.create("box") == 2 and reg.create("box", width=5) == 5
    with pytest.raises(ConfigError, match="box box: depth: Key 'depth' not in 'Cfg'"):
        reg.create("box", depth=1)
    with pytest.raises(ConfigError, match="box box: width: Value 'wide'"):
        reg.create("box", width="wide")


def test_every_refiner_has_its_schema_presets_and_option_file():
    import refiner.config  # noqa: F401  (stores the schemas)
    from pathlib import Path

    from refiner.models import create, names
    from refiner.registry import REFINERS

    store = ConfigStore.instance().repo["refiner"]
    for name in names():
        entry = REFINERS.get(name)
        assert entry.schema.name == name and {"small", "paper"} <= set(entry.presets)
        assert f"{name}_schema.yaml" in store
        assert (Path(CONF_DIR) / "refiner" / f"{name}.yaml").is_file()
    assert create("fastcut").cfg.loss.nce == 10.0  # the schema's per-model default


def test_every_scene_and_detector_is_created_by_name():
    from render.scenes import create as create_scene
    from render.scenes import names as scene_names
    from train.detectors import names as detector_names
    from train.detectors import needs_masks

    assert {"primitives", "cards", "tabletop"} <= set(scene_names())
    for name in scene_names():
        assert create_scene(name).name == name
    assert needs_masks("maskrcnn_resnet50_fpn_v2") and not needs_masks("fcos_tiny")
    with pytest.raises(ConfigError, match="detector.name: unknown detector 'yolo'"):
        needs_masks("yolo")
    assert "fcos_tiny" in detector_names()
