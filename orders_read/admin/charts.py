"""Bar charts as inline SVG, drawn on the server: no JavaScript, nothing from a CDN."""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
Number = int | Decimal
# Axis tops, per power of ten: the last one always covers the value.
STEPS = (1, Decimal("1.5"), 2, Decimal("2.5"), 3, 4, 5, 6, 8, 10)


def bar_chart(
    days: Sequence[date], values: Mapping[date, Number], *, label: str, unit: str = ""
) -> SafeString:
    """Return an SVG bar chart with one bar per day that has a value above zero."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_ceiling(max([values.get(day, 0) for day in days] or [0]))
    slot = plot_w / max(len(days), 1)
    bars = []
    for n, day in enumerate(days):
        value = values.get(day, 0)
        if value <= 0:
            continue
        height = float(value) / float(top) * plot_h
        bars.append(
            (
                f"{LEFT + n * slot + slot * 0.15:.1f}",
                f"{TOP + plot_h - height:.1f}",
                f"{slot * 0.7:.1f}",
                f"{height:.1f}",
                day.isoformat(),
                f"{value} {unit}".strip(),
            )
        )
    grid = [(TOP + plot_h * (1 - share), _fmt(top * Decimal(share))) for share in (0, 0.5, 1)]
    ticks = [
        (f"{LEFT + n * slot + slot / 2:.1f}", day.strftime("%b %d"))
        for n, day in enumerate(days)
        if n % 5 == 0 or n == len(days) - 1
    ]
    return format_html(
        '<svg class="ordinal-chart" role="img" aria-label="{label}" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" font-size="11" '
        'font-family="sans-serif">{grid}{bars}{ticks}</svg>',
        label=label,
        w=WIDTH,
        h=HEIGHT,
        grid=format_html_join(
            "",
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ccc"/>'
            '<text x="{}" y="{}" text-anchor="end" fill="#666">{}</text>',
            ((LEFT, WIDTH - RIGHT, y, y, LEFT - 6, y + 4, text) for y, text in grid),
        ),
        bars=format_html_join(
            "",
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="#417690" '
            'data-day="{}"><title>{}: {}</title></rect>',
            ((x, y, w, h, day, day, text) for x, y, w, h, day, text in bars),
        ),
        ticks=format_html_join(
            "",
            '<text x="{}" y="' + str(HEIGHT - 8) + '" text-anchor="middle" fill="#666">{}</text>',
            ticks,
        ),
    )


def _nice_ceiling(value: Number) -> Decimal:
    """Round the axis top up to a round number a little above it (at least 1)."""
    value = Decimal(value)
    if value <= 1:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    return next(step * magnitude for step in STEPS if value <= step * magnitude)


def _fmt(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
