"""One registry idiom for every stage's named parts, as timm does it.

Next to the part (a scene kind, a refiner, a detector)::

    @REFINERS.register("fastcut", schema=FastCUTConfig, presets=STRIDED_PRESETS)
    class FastCUT(CUT): ...

and where it is needed, ``create(name, **kw)`` from the package that imports the parts
(``render.scenes``, ``refiner.models``, ``train.detectors``). A registry imports no part: each
part module registers itself when its package is imported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sim2real.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    """One registered part: how to build it and what is known about it without building it."""

    name: str
    build: Callable[..., Any]
    schema: type | None = None  # its config dataclass: ``create`` merges keywords into it
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # named settings bundles
    info: Mapping[str, Any] = field(default_factory=dict)  # facts callers ask before building
    description: str = ""


class Registry:
    """Named parts of one kind. ``key`` is the config key that selects one (for errors)."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, *, schema: type | None = None,
                 presets: Mapping[str, Mapping[str, Any]] | None = None, **info: Any) -> Callable[[Any], Any]:
        """Decorator: register a class or builder function under ``name``; returns it unchanged."""

        def wrap(build: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            doc = (build.__doc__ or name).strip().splitlines() or [name]
            self._entries[name] = Entry(name, build, schema, dict(presets or {}), dict(info), doc[0])
            return build

        return wrap

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Entry:
        if name not in self._entries:
            raise ConfigError(f"{self.key}: unknown {self.kind} {name!r}; choose one of {self.names()}")
        return self._entries[name]

    def create(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """Build ``name``. With a schema, the keywords are its fields (a missing one takes the
        schema's default; an unknown key or a wrong type is a ``ConfigError``) and the builder
        gets the merged config; otherwise they go to the builder as they are."""
        entry = self.get(name)
        if entry.schema is None:
            return entry.build(*args, **kwargs)
        return entry.build(self.config(name, kwargs), *args)

    def config(self, name: str, values: Mapping[str, Any] | None = None) -> Any:
        """The schema of ``name`` (an OmegaConf node) with ``values`` merged in."""
        from omegaconf import OmegaConf

        entry = self.get(name)
        values = {k: v for k, v in dict(values or {}).items() if k != "name"}
        try:
            return OmegaConf.merge(OmegaConf.structured(entry.schema), values)
        except Exception as exc:  # omegaconf validation: unknown key or wrong type
            key = getattr(exc, "full_key", None)
            raise ConfigError(f"{self.kind} {name}: " + (f"{key}: " if key else "") + str(exc).splitlines()[0]) from exc
