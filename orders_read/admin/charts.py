"""Bar charts as inline SVG, drawn on the server: no JavaScript, nothing from a CDN.

A chart is two SVGs side by side: the value axis, a fixed strip for its labels, and
the plot, as wide as the panel it sits in. The plot places bars and day labels in
percentages of its width, so the bars fill whatever width the page gives it while the
text keeps its size (a viewBox would scale the text with the panel).
"""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

HEIGHT, AXIS_WIDTH, TOP, BOTTOM = 220, 56, 12, 28
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
Number = int | Decimal
# Round steps between ticks, per power of ten; at most this many intervals on the axis.
MANTISSAS = (1, 2, Decimal("2.5"), 5)
MAX_INTERVALS = 6
CENT = Decimal("0.01")
# Each day has a slot of the plot's width; its bar takes the middle of it.
BAR_SHARE = Decimal("0.7")
DAY_LABEL_EVERY = 5


def bar_chart(
    days: Sequence[date],
    values: Mapping[date, Number],
    *,
    label: str,
    unit: str = "",
    integer: bool = False,
) -> SafeString:
    """Return a bar chart with one bar per day whose value is not zero.

    `integer`: the values are counts, so the axis ticks are whole numbers. Values below
    zero (a day of net refunds) hang below the zero line.
    """
    shown = [values.get(day, 0) for day in days]
    ticks = axis_ticks(min(shown, default=0), max(shown, default=0), integer=integer)
    low, high = ticks[0], ticks[-1]

    def y(value: Number) -> float:
        return TOP + float((high - Decimal(value)) / (high - low)) * PLOT_HEIGHT

    zero = y(0)
    slot = Decimal(100) / max(len(days), 1)
    bars = []
    for n, (day, value) in enumerate(zip(days, shown, strict=True)):
        if value == 0:
            continue
        top, bottom = sorted((y(value), zero))
        bars.append(
            (
                "bar negative" if value < 0 else "bar",
                "#ba2121" if value < 0 else "#417690",
                _percent(n * slot + slot * (1 - BAR_SHARE) / 2),
                f"{top:.1f}",
                _percent(slot * BAR_SHARE),
                f"{bottom - top:.1f}",
                day.isoformat(),
                day.isoformat(),
                f"{value} {unit}".strip(),
            )
        )
    # One format per axis: cents on every tick if any tick needs them.
    places = 0 if all(tick == tick.to_integral_value() for tick in ticks) else 2
    grid = [
        # (+ 0: no "-0"); the zero line darker than the others.
        (f"{y(tick):.1f}", f"{tick + 0:,.{places}f}", "#999" if tick == 0 else "#ccc")
        for tick in ticks
    ]
    day_labels = [
        (_percent(n * slot + slot / 2), day.strftime("%b %d"))
        for n, day in enumerate(days)
        if n % DAY_LABEL_EVERY == 0 or n == len(days) - 1
    ]
    return format_html(
        '<div class="ordinal-chart" role="img" aria-label="{label}">'
        '<svg class="axis" width="{axis_w}" height="{h}" xmlns="http://www.w3.org/2000/svg" '
        'font-size="11" font-family="sans-serif">{axis}</svg>'
        '<svg class="plot" width="100%" height="{h}" xmlns="http://www.w3.org/2000/svg" '
        'font-size="11" font-family="sans-serif">{grid}{bars}{days}</svg></div>',
        label=label,
        axis_w=AXIS_WIDTH,
        h=HEIGHT,
        axis=format_html_join(
            "",
            '<text class="tick" x="{}" y="{}" text-anchor="end" fill="#666">{}</text>',
            ((AXIS_WIDTH - 6, float(y_) + 4, text) for y_, text, _ in grid),
        ),
        grid=format_html_join(
            "",
            '<line x1="0" x2="100%" y1="{}" y2="{}" stroke="{}"/>',
            ((y_, y_, colour) for y_, _, colour in grid),
        ),
        bars=format_html_join(
            "",
            '<rect class="{}" fill="{}" x="{}" y="{}" width="{}" height="{}" data-day="{}">'
            "<title>{}: {}</title></rect>",
            bars,
        ),
        days=format_html_join(
            "",
            '<text x="{}" y="' + str(HEIGHT - 8) + '" text-anchor="middle" fill="#666">{}</text>',
            day_labels,
        ),
    )


def axis_ticks(low: Number, high: Number, *, integer: bool = False) -> list[Decimal]:
    """Return the value axis' ticks: evenly spaced round numbers from zero or below `low`
    to zero or above `high`, at most MAX_INTERVALS of them.

    Of the round steps (1, 2, 2.5 or 5 times a power of ten) that need no more
    intervals, the one whose axis is shortest wins (the smaller step on a tie), so the
    tallest bar reaches as close to the top as round numbers allow. Counts (`integer`)
    step by whole numbers, amounts by at least a cent.
    """
    low, high = min(Decimal(low), Decimal(0)), max(Decimal(high), Decimal(0))
    if high == low:
        high = low + 1  # nothing to show: a 0..1 axis
    # A step of a tenth of the span needs too many intervals; one above the span needs 1.
    largest = (high - low).adjusted() + 1
    candidates = []
    for exponent in range(largest - 2, max(largest, 0) + 1):
        for mantissa in MANTISSAS:
            step = Decimal(mantissa).scaleb(exponent)
            if step < CENT or (integer and step != step.to_integral_value()):
                continue
            bottom = (low / step).to_integral_value(ROUND_FLOOR) * step
            top = (high / step).to_integral_value(ROUND_CEILING) * step
            if (top - bottom) / step <= MAX_INTERVALS:
                candidates.append((top - bottom, step, bottom))
    span, step, bottom = min(candidates)
    return [bottom + step * k for k in range(int(span / step) + 1)]


def _percent(value: Decimal) -> str:
    return f"{value:.3f}%"
