"""timm-style registry: ``@register_refiner("name")`` on a class, ``create_refiner(name, **kw)``."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from sim2real.errors import ConfigError

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register_refiner(name: str) -> Callable[[T], T]:
    def wrap(cls: T) -> T:
        _REGISTRY[name] = cls
        cls.model_name = name
        return cls

    return wrap


def list_refiners() -> list[str]:
    _import_models()
    return sorted(_REGISTRY)


def create_refiner(name: str, /, **kwargs: Any) -> Any:
    """Build a refiner by name, e.g. ``create_refiner("fastcut", preset="paper")``.

    Keyword arguments are the fields of ``refiner`` in conf/refine.yaml (a plain dict or the
    composed config); anything not given takes the schema's default.
    """
    _import_models()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown refiner {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name](_as_config(name, kwargs))


def _as_config(name: str, kwargs: dict[str, Any]) -> Any:
    from omegaconf import OmegaConf

    from refiner.config import REFINER_SCHEMAS

    schema = OmegaConf.structured(REFINER_SCHEMAS[name])
    kwargs = {k: v for k, v in kwargs.items() if k != "name"}
    try:
        return OmegaConf.merge(schema, kwargs)
    except Exception as exc:  # omegaconf validation: unknown key or wrong type
        raise ConfigError(f"refiner {name}: {exc}".splitlines()[0]) from exc


def _import_models() -> None:
    import refiner.models  # noqa: F401  (registers every model)
