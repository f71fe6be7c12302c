"""Read the admin's server-drawn charts back: the SVG parsed, bars and ticks as numbers."""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Bar:
    day: str
    x: float  # percent of the plot's width
    width: float  # percent
    y: float  # pixels from the top
    height: float
    title: str
    negative: bool


@dataclass(frozen=True)
class Chart:
    plot_width: str
    ticks: list[str]  # the value axis' labels, bottom up
    tick_ys: list[float]
    bars: list[Bar]


def parse_chart(fragment: str) -> Chart:
    """Parse the markup `bar_chart` returns (the wrapper and its two SVGs)."""
    root = ET.fromstring(fragment)
    axis, plot = root.findall(f"{SVG}svg")
    assert (axis.get("class"), plot.get("class")) == ("axis", "plot")
    labels = [(float(t.get("y")), t.text) for t in axis.iter(f"{SVG}text")]
    labels.sort(reverse=True)  # bottom (largest y) first
    bars = [
        Bar(
            day=rect.get("data-day"),
            x=_percent(rect.get("x")),
            width=_percent(rect.get("width")),
            y=float(rect.get("y")),
            height=float(rect.get("height")),
            title=rect.find(f"{SVG}title").text,
            negative="negative" in rect.get("class").split(),
        )
        for rect in plot.iter(f"{SVG}rect")
    ]
    return Chart(plot.get("width"), [t for _, t in labels], [y for y, _ in labels], bars)


def chart_in(html: str, chart_id: str) -> Chart:
    """Parse the chart inside the page's element with that id."""
    found = re.search(rf'<div id="{chart_id}">\s*(<div class="ordinal-chart".*?</div>)', html, re.S)
    assert found, f"no chart in #{chart_id}"
    return parse_chart(found.group(1))


def _percent(value: str) -> float:
    assert value.endswith("%"), value
    return float(value[:-1])
