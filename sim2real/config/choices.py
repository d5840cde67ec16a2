"""The closed sets of choices in the configs. Typed as these enums, a misspelt choice
(``refiner.gan_mode=lsgn``) fails when the config is composed, before any work, with the valid
values listed. Each is a ``StrEnum``: it compares, hashes and formats as its plain string."""
from __future__ import annotations

from enum import StrEnum


class LoggerMode(StrEnum):
    offline = "offline"
    online = "online"
    disabled = "disabled"


class FitRule(StrEnum):
    keep = "keep"
    letterbox = "letterbox"
    crop = "crop"
