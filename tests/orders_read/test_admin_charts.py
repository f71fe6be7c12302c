"""The overview's bar charts: whole-number count axes, bars that fill the plot panel.

No database: the charts are drawn from the values given.
"""

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from orders_read.admin.charts import BAR_SHARE, PLOT_HEIGHT, TOP, axis_ticks, bar_chart

from .chart_helpers import parse_chart

DAYS = [date(2025, 3, 1) + timedelta(days=n) for n in range(30)]


def counts_chart(values: dict[date, int]):
    return parse_chart(bar_chart(DAYS, values, label="Orders", unit="orders", integer=True))


@pytest.mark.parametrize("most", [1, 2, 3, 5, 7, 8, 11, 13, 29, 101, 997])
def test_a_count_axis_has_whole_number_ticks_just_above_the_tallest_bar(most):
    chart = counts_chart({DAYS[0]: 1, DAYS[1]: most})
    numbers = [int(label.replace(",", "")) for label in chart.ticks]  # no "0.50"
    assert numbers[0] == 0 and numbers == sorted(numbers)
    step = numbers[1] - numbers[0]
    assert all(b - a == step for a, b in pairwise(numbers))
    # The top tick covers the tallest bar, and not by a whole step more.
    assert most <= numbers[-1] < most + step
    assert len(numbers) - 1 <= 6


def test_the_tallest_bar_reaches_the_top_of_the_plot_when_it_is_on_a_tick():
    chart = counts_chart({DAYS[3]: 4, DAYS[4]: 8})
    assert chart.ticks == ["0", "2", "4", "6", "8"]
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.y == TOP and tallest.height == PLOT_HEIGHT
    assert [bar.height for bar in chart.bars] == [PLOT_HEIGHT / 2, PLOT_HEIGHT]
    # Each tick's label sits on its grid line: the top tick at the plot's top.
    assert chart.tick_ys[-1] == TOP + 4 and chart.tick_ys[0] == TOP + PLOT_HEIGHT + 4


def test_the_bars_span_the_whole_width_of_the_plot():
    chart = counts_chart({day: 1 + n % 3 for n, day in enumerate(DAYS)})
    assert chart.plot_width == "100%"  # as wide as the panel it is in
    slot = 100 / len(DAYS)
    gap = slot * float(1 - BAR_SHARE) / 2
    assert [bar.day for bar in chart.bars] == [day.isoformat() for day in DAYS]
    for n, bar in enumerate(chart.bars):
        assert bar.x == pytest.approx(n * slot + gap, abs=0.001)
        assert bar.width == pytest.approx(slot * float(BAR_SHARE), abs=0.001)
    first, last = chart.bars[0], chart.bars[-1]
    assert first.x - gap == pytest.approx(0, abs=0.001)
    assert last.x + last.width + gap == pytest.approx(100, abs=0.001)


def test_days_without_a_value_have_no_bar_and_an_empty_chart_has_a_unit_axis():
    chart = counts_chart({})
    assert chart.bars == [] and chart.ticks == ["0", "1"]
    assert [bar.day for bar in counts_chart({DAYS[5]: 2}).bars] == [DAYS[5].isoformat()]


def test_an_amount_axis_steps_by_round_amounts_and_shows_cents_when_it_must():
    chart = parse_chart(
        bar_chart(DAYS, {DAYS[0]: Decimal("0.30"), DAYS[1]: Decimal("0.75")}, label="R", unit="EUR")
    )
    assert chart.ticks == ["0.00", "0.25", "0.50", "0.75"]  # the top bar reaches the top
    assert [bar.title for bar in chart.bars] == [
        f"{DAYS[0].isoformat()}: 0.30 EUR",
        f"{DAYS[1].isoformat()}: 0.75 EUR",
    ]
    big = parse_chart(bar_chart(DAYS, {DAYS[0]: Decimal("630.00")}, label="R", unit="EUR"))
    assert big.ticks == ["0", "250", "500", "750"]


def test_a_day_of_net_refunds_hangs_below_the_zero_line():
    values = {DAYS[0]: Decimal("1100.00"), DAYS[1]: Decimal("-974.50")}
    chart = parse_chart(bar_chart(DAYS, values, label="R", unit="EUR"))
    assert chart.ticks[0].startswith("-") and chart.ticks[-1] != "0"
    zero_y = chart.tick_ys[chart.ticks.index("0")] - 4
    up, down = chart.bars
    assert not up.negative and up.y + up.height == pytest.approx(zero_y, abs=0.1)
    assert down.negative and down.y == pytest.approx(zero_y, abs=0.1)
    assert down.title.endswith(": -974.50 EUR")


@pytest.mark.parametrize(
    ("low", "high", "integer", "ticks"),
    [
        (0, 0, True, ["0", "1"]),
        (0, 1, True, ["0", "1"]),
        (0, 3, True, ["0", "1", "2", "3"]),
        (0, 12, True, ["0", "2", "4", "6", "8", "10", "12"]),
        (0, 13, True, ["0", "5", "10", "15"]),
        (-3, 8, True, ["-4", "-2", "0", "2", "4", "6", "8"]),
        (0, Decimal("0.01"), False, ["0", "0.01"]),
        (0, Decimal("7.5"), False, ["0", "2.5", "5", "7.5"]),
        (0, Decimal("7.9"), False, ["0", "2", "4", "6", "8"]),
        (
            Decimal("-974.50"),
            Decimal("1100.00"),
            False,
            ["-1000", "-500", "0", "500", "1000", "1500"],
        ),
    ],
)
def test_axis_ticks(low, high, integer, ticks):
    assert axis_ticks(low, high, integer=integer) == [Decimal(t) for t in ticks]
