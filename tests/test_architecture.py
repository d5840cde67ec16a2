"""The house rules, read from the source (docs/design.md draws them).

- Floors: the core (``sim2real``) imports nothing above it; a stage (``render``, ``refiner``,
  ``train``) imports itself and the core only; the top floor (``pipeline``) may import anything,
  and nothing imports it.
- No import cycle between modules (every import counts: inside functions and under
  ``TYPE_CHECKING`` too).
- A registry imports no part it registers.
- Every default has one source: a config file lists only what differs from its schema.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CORE, STAGES, TOP = "sim2real", ("render", "refiner", "train"), "pipeline"
PACKAGES = (CORE, *STAGES, TOP)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t.split(".")[0] in PACKAGES}
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def allowed(importer: str, imported: str) -> bool:
    src, dst = importer.split(".")[0], imported.split(".")[0]
    if src == TOP:
        return True
    if dst == TOP:
        return False
    return dst in (src, CORE)  # the core: itself only; a stage: itself and the core


def test_each_floor_imports_only_what_is_below_it(graph):
    wrong = sorted(f"{m} imports {i}" for m, deps in graph.items() for i in deps if not allowed(m, i))
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles(graph):
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_checks_see_a_violation(tmp_path):
    """The parser finds imports inside functions and under TYPE_CHECKING, and relative ones."""
    src = tmp_path / "mod.py"
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipeline.run import Pipeline\n"
                   "def f():\n    import train.run\n    from . import helpers\n")
    found = imports_of("sim2real.mod", src, {"sim2real.helpers"})
    assert found == {"pipeline.run", "train.run", "sim2real.helpers"}
    assert not allowed("sim2real.mod", "train.run") and not allowed("render.x", "refiner.y")
    assert not allowed("train.run", "pipeline.run") and allowed("pipeline.run", "train.run")


def test_registries_import_no_part(graph):
    for name in ("sim2real.registry", "render.registry", "refiner.registry", "train.registry"):
        assert graph[name] <= {"sim2real.registry", "sim2real.errors"}, (name, graph[name])


def _schema_defaults() -> dict[str, object]:
    """(config file -> the schema node its values are checked against)."""
    from omegaconf import OmegaConf

    from refiner.config import REFINER_SCHEMAS, RefineConfig
    from render.config import RenderConfig
    from sim2real.config.common import LoggerConfig, TrainerConfig
    from train.config import PredictConfig, TrainConfig

    from pipeline.config import PipelineConfig

    from pipeline.analyze import AnalyzeConfig
    from pipeline.export import ExportConfig

    primary = {"render": RenderConfig, "refine": RefineConfig, "train": TrainConfig, "pipeline": PipelineConfig,
               "predict": PredictConfig, "export": ExportConfig, "analyze": AnalyzeConfig}
    groups = {"scene": (RenderConfig, "scene"), "reality": (RenderConfig, "reality"),
              "detector": (TrainConfig, "detector"), "slices": (TrainConfig, "slices"),
              "trainer": (TrainerConfig, None), "logger": (LoggerConfig, None)}
    conf = ROOT / "sim2real" / "conf"
    out = {}
    for path in sorted(conf.rglob("*.yaml")):
        rel = path.relative_to(conf).with_suffix("")
        if len(rel.parts) == 1:
            out[str(rel)] = OmegaConf.structured(primary[rel.parts[0]])
        elif rel.parts[0] == "refiner":
            out[str(rel)] = OmegaConf.structured(REFINER_SCHEMAS[rel.parts[1]])
        elif rel.parts[0] in groups:
            schema, key = groups[rel.parts[0]]
            node = OmegaConf.structured(schema)
            out[str(rel)] = OmegaConf.select(node, key) if key else node
    return out


def _leaves(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def test_config_files_list_only_what_differs_from_the_schema():
    from omegaconf import OmegaConf

    conf = ROOT / "sim2real" / "conf"
    repeated = []
    checked = _schema_defaults()
    assert {"render", "refiner/fastcut", "scene/cards", "detector/fcos_tiny", "trainer/gpu"} <= set(checked)
    for rel, schema in checked.items():
        data = yaml.safe_load((conf / f"{rel}.yaml").read_text()) or {}
        for key, value in _leaves({k: v for k, v in data.items() if k not in ("defaults", "hydra")}):
            default = OmegaConf.select(schema, key, default="<absent>")
            if OmegaConf.is_config(default):
                default = OmegaConf.to_container(default, enum_to_str=True)
            elif hasattr(default, "value"):  # an enum member
                default = default.value
            if default == value:
                repeated.append(f"sim2real/conf/{rel}.yaml: {key}: {value!r} is the schema's default")
    assert not repeated, "\n".join(repeated)
