"""What a detector run leaves behind: metrics.json, the slice table (console + PNG), W&B."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim2real import atomic
from sim2real.tracking import log_metrics
from train.plots import format_cell
from train.slices import SliceReport

log = logging.getLogger(__name__)


def write_metrics(out_dir: Path, metrics: dict, info: dict) -> Path:
    """``metrics.json``: flat metric keys (``test/map50`` ...) plus what the run trained on."""
    path = Path(out_dir) / "metrics.json"
    atomic.write_text(path, json.dumps({**metrics, "_run": info}, indent=2, sort_keys=True, default=str))
    return path


def slice_console_table(report: SliceReport, *, only_failing: bool = False) -> Table:
    table = Table(title=("slices below their threshold" if only_failing else "test metrics per slice")
                  + f" ({report.metric})")
    for col in ("slice", "value", "images", "boxes", "map50", "map", "threshold", "status"):
        table.add_column(col, justify="right" if col in ("images", "boxes", "map50", "map", "threshold") else "left")
    for row in report.rows():
        if only_failing and row["status"] != "FAIL":
            continue
        style = "red" if row["status"] == "FAIL" else None
        table.add_row(*[format_cell(row[c]) for c in ("slice", "value", "images", "boxes", "map50", "map", "threshold", "status")],
                      style=style)
    return table


def print_table(table: Table) -> None:
    Console(width=120).print(table)


def log_to_tracking(metrics: dict, plots: dict[str, Path], report: SliceReport | None) -> None:
    """Scalars, plot images and the slice table to the active W&B run (no-op when disabled)."""
    import wandb

    if wandb.run is None:
        return
    payload: dict[str, Any] = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    for name, path in plots.items():
        payload[f"plots/{name}"] = wandb.Image(str(path))
    if report is not None and report.results:
        rows = report.rows()
        payload["test/slices"] = wandb.Table(columns=list(rows[0]), data=[list(r.values()) for r in rows])
    log_metrics(payload)

