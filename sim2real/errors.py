"""Errors a user sees: one line, naming the file or key at fault."""


class Sim2RealError(RuntimeError):
    """Base for errors caused by bad input or configuration (not by bugs)."""


class DatasetError(Sim2RealError):
    """A dataset on disk is missing, malformed or unsafe."""


class ConfigError(Sim2RealError):
    """A configuration value is invalid."""
