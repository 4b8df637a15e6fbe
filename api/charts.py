"""Horizontal bar charts of rates (0..1), as PNG files, for `rag eval` and `rag grounding`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

RATE_COLOUR = "#3b6ea5"
FAILURE_COLOUR = "#b5523b"


def rate_chart(bars: Sequence[tuple[str, float, str]], title: str, path: Path) -> None:
    """Write one bar a `(label, rate, colour)` triple, top to bottom, each labelled with its
    value, to `path` (PNG). Raises OSError when `path` cannot be written."""
    import matplotlib

    matplotlib.use("Agg")  # no display here: render straight to a file
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 0.45 * len(bars) + 1.2))
    drawn = axes.barh([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
    axes.bar_label(drawn, fmt="%.3f", padding=3)
    axes.set_xlim(0, 1.1)
    axes.invert_yaxis()
    axes.set_title(title)
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=120)
    finally:
        plt.close(figure)
