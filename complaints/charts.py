"""Bar charts for the appraisal's PDF, drawn as SVG on the server (a document has no script to draw them)."""

import base64
from html import escape

ROW = 18  # px per bar
LABEL_WIDTH = 120
BAR_WIDTH = 300
VALUE_WIDTH = 60


def bar_chart_data_uri(*, items: list[tuple[str, float | None]], maximum: float, value_format) -> str:
    """A horizontal bar per (label, value); a value of None is drawn as "—" with no bar. As a data: URI."""
    height = ROW * max(len(items), 1) + 4
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        ' font-family="Noto Sans CJK SC, sans-serif" font-size="10">'
    ]
    for index, (label, value) in enumerate(items):
        y = index * ROW + 2
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{BAR_WIDTH}" height="{ROW - 6}" fill="#eeeeee"/>')
        if value is not None and maximum > 0:
            length = max(0.0, min(value / maximum, 1.0)) * BAR_WIDTH
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{length:.1f}" height="{ROW - 6}" fill="#3b6ea5"/>'
            )
        shown = "—" if value is None else value_format(value)
        parts.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 12}">{escape(shown)}</text>')
    parts.append("</svg>")
    return "data:image/svg+xml;base64," + base64.b64encode("".join(parts).encode()).decode()


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def appraisal_charts(rows) -> dict[str, str]:
    """The appraisal's two charts: share attended within the deadline, and the mean of the four ratings."""
    return {
        "in_time": bar_chart_data_uri(
            items=[(row.technician_name, row.in_time_share) for row in rows],
            maximum=1.0,
            value_format=lambda v: f"{v * 100:.0f}%",
        ),
        "ratings": bar_chart_data_uri(
            items=[
                (
                    row.technician_name,
                    _mean([row.avg_attitude, row.avg_technique, row.avg_arrival, row.avg_follow_through]),
                )
                for row in rows
            ],
            maximum=5.0,
            value_format=lambda v: f"{v:.2f}",
        ),
    }
