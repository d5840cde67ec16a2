"""sim2real core: what every stage shares (dataset contract, readers, tracking, config)."""

__version__ = "0.1.0"
