"""sim2real core: what every stage shares (dataset contract, readers, images and masks, atomic
writes, guards, tracking, the registry idiom, shared config). It imports no stage and not the
top floor (docs/design.md)."""

__version__ = "0.1.0"
