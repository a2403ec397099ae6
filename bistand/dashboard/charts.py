"""The dashboard's charts: matplotlib draws each as an inline SVG on the server.

matplotlib's object API (a `Figure` per chart, no pyplot state, so it is safe in the server's
threads) with the SVG backend: real axes, ticks and labels, no JavaScript and nothing fetched by
the browser. Text stays text (`svg.fonttype: none`): small, sharp, searchable; each bar carries
an id (`gid`) and its value as a label, so tests can read what is drawn.
"""

from __future__ import annotations

import functools
import io
import re
import threading

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bistand.dashboard.stats import Bar, HourlyWork, SecondsDistribution

COLOURS = {"Klar": "#2e7d32", "Affärsfel": "#e08a00", "Systemfel": "#c62828",
           "Beslutat av roboten": "#1f5fa8", "Till handläggare": "#7b8794", "Okänt": "#d5d9de"}
BAR_COLOUR = "#1f5fa8"
_STYLE = {
    "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 11,
    "axes.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
    "axes.edgecolor": "#6b7280", "axes.labelcolor": "#1f2933", "xtick.color": "#1f2933",
    "ytick.color": "#1f2933", "axes.grid": True, "axes.axisbelow": True, "grid.color": "#e5e7eb",
}


_RENDERING = threading.Lock()


def serialised(draw):
    """One chart at a time: `rc_context` changes matplotlib's global settings while it draws, and
    the server draws in several threads."""

    @functools.wraps(draw)
    def locked(*args, **kwargs):
        with _RENDERING:
            return draw(*args, **kwargs)

    return locked


def swedish_number(value: float, _position: int | None = None) -> str:
    """1.5 -> '1,5'; 1200 -> '1 200' (a thin space between thousands)."""
    text = f"{value:,.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    return text.replace(",", "\u2009").replace(".", ",")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().translate(str.maketrans("åäö", "aao"))).strip("-")


def to_svg(figure: Figure, name: str, description: str) -> str:
    """The figure as an inline <svg> (no XML prolog), labelled for screen readers."""
    buffer = io.StringIO()
    with rc_context({**_STYLE, "svg.hashsalt": name}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{description}" data-chart="{name}" ', 1)


def _figure(width: float = 6.0, height: float = 3.2) -> tuple[Figure, object]:
    with rc_context(_STYLE):
        figure = Figure(figsize=(width, height), dpi=100)
        axes = figure.subplots()
    return figure, axes


def _empty(axes, text: str) -> None:
    axes.text(0.5, 0.5, text, transform=axes.transAxes, ha="center", va="center", color="#6b7280", fontsize=10)


@serialised
def hourly_chart(hourly: HourlyWork) -> str:
    """Stacked bars: work finished per hour of the day, by outcome."""
    with rc_context(_STYLE):
        figure, axes = _figure(12.8, 3.0)
        bottom = [0] * 24
        for label, values in hourly.series.items():
            bars = axes.bar(range(24), values, bottom=bottom, color=COLOURS[label], label=label, width=0.8)
            for hour, (patch, value) in enumerate(zip(bars.patches, values, strict=True)):
                if value:
                    patch.set_gid(f"timme-{hour:02d}-{slug(label)}-{value}")
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        totals = bottom
        for hour, total in enumerate(totals):
            if total:
                axes.text(hour, total, str(total), ha="center", va="bottom", fontsize=8)
        axes.set_xlim(-0.6, 23.6)
        axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max(max(totals) * 1.15, 1))
        axes.set_xlabel(f"Timme ({hourly.day.isoformat()}, svensk tid)")
        axes.set_ylabel("Ärenden")
        axes.set_title("Ärenden per timme", loc="left")
        axes.grid(axis="x", visible=False)
        if hourly.total:
            axes.legend(loc="upper left", frameon=False, ncols=3, fontsize=8)
        else:
            _empty(axes, "Inga ärenden hanterade denna dag")
        return to_svg(figure, "per-timme", f"Ärenden per timme {hourly.day.isoformat()}: {hourly.total} totalt")


@serialised
def seconds_chart(distribution: SecondsDistribution) -> str:
    """Histogram of seconds per finished application, with the median and the 95th percentile."""
    with rc_context(_STYLE):
        figure, axes = _figure(6.4, 3.0)
        edges, counts = distribution.edges, distribution.counts
        widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
        bars = axes.bar(edges[:-1], counts, width=widths, align="edge", color=BAR_COLOUR, edgecolor="white")
        for index, (patch, count) in enumerate(zip(bars.patches, counts, strict=True)):
            if count:
                patch.set_gid(f"sekunder-{index}-{count}")
                axes.text(edges[index] + widths[index] / 2, count, str(count), ha="center", va="bottom", fontsize=8)
        axes.xaxis.set_major_formatter(FuncFormatter(swedish_number))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(edges[0], edges[-1])
        axes.set_ylim(0, max(max(counts) * 1.2, 1))
        axes.set_xlabel("Sekunder per ärende")
        axes.set_ylabel("Ärenden")
        axes.set_title("Tid per ärende", loc="left")
        axes.grid(axis="x", visible=False)
        if distribution.total:
            marks = ((distribution.median, "median", "-"), (distribution.p95, "95:e percentil", "--"))
            for value, name, style in marks:
                axes.axvline(value, color="#1f2933", linestyle=style, linewidth=1,
                             label=f"{name} {swedish_number(round(value, 1))} s")
            axes.legend(loc="upper right", frameon=False, fontsize=8)
        else:
            _empty(axes, "Inga klara ärenden ännu")
        return to_svg(figure, "sekunder", f"Sekunder per ärende: {distribution.total} klara ärenden")


@serialised
def bar_chart(bars: list[Bar], name: str, title: str, xlabel: str, empty_text: str) -> str:
    """Horizontal bars, one per label, largest on top as listed."""
    with rc_context(_STYLE):
        figure, axes = _figure(6.4, max(1.8, 0.9 + 0.32 * max(len(bars), 1)))
        labels = [b.label for b in bars][::-1]
        values = [b.value for b in bars][::-1]
        if bars:
            drawn = axes.barh(labels, values, color=BAR_COLOUR, height=0.6)
            for patch, label, value in zip(drawn.patches, labels, values, strict=True):
                patch.set_gid(f"{name}-{slug(label)}-{value}")
                axes.text(value, patch.get_y() + patch.get_height() / 2, f" {value}", va="center", fontsize=8)
        else:
            axes.set_yticks([])
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(0, max(max(values, default=0) * 1.15, 1))
        axes.set_xlabel(xlabel)
        axes.set_title(title, loc="left")
        axes.grid(axis="y", visible=False)
        if not any(values):
            _empty(axes, empty_text)
        total = sum(values)
        return to_svg(figure, name, f"{title}: {total} totalt")


@serialised
def decided_chart(bars: list[Bar]) -> str:
    """The share of finished items the robot decided, and the share handed to a caseworker."""
    with rc_context(_STYLE):
        figure, axes = _figure(6.4, 1.9)
        total = sum(b.value for b in bars)
        left = 0.0
        for bar in bars:
            if not bar.value:
                continue
            share = bar.value / total
            patch = axes.barh([0], [share * 100], left=left, color=COLOURS[bar.label], height=0.5,
                              label=f"{bar.label}: {bar.value} ({swedish_number(round(share * 100))} %)")[0]
            patch.set_gid(f"beslut-{slug(bar.label)}-{bar.value}")
            if share >= 0.08:
                axes.text(left + share * 50, 0, f"{swedish_number(round(share * 100))} %", ha="center",
                          va="center", color="white" if bar.label != "Okänt" else "#1f2933", fontsize=9)
            left += share * 100
        axes.set_xlim(0, 100)
        axes.set_ylim(-0.6, 0.6)
        axes.set_yticks([])
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f} %"))
        axes.set_xlabel("Andel av avslutade ärenden (klara och affärsfel)")
        axes.set_title("Vem beslutar", loc="left")
        axes.grid(axis="y", visible=False)
        if total:
            axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), frameon=False, ncols=3, fontsize=8)
        else:
            _empty(axes, "Inga avslutade ärenden ännu")
        return to_svg(figure, "beslut", f"Vem beslutar: {total} avslutade ärenden")


def seconds_text(value: float) -> str:
    """Seconds with two decimals below ten ('0,15'), whole above: portals answer in fractions."""
    return f"{value:.2f}".replace(".", ",") if value < 10 else swedish_number(round(value))


@serialised
def portal_chart(systems: list) -> str:
    """Per system over the last hour: the share of failed requests and the median seconds of the
    requests that succeeded, side by side (bistand.monitoring.health.SystemHealth)."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(12.8, max(2.4, 0.9 + 0.32 * max(len(systems), 1))), dpi=100)
        errors_axes, seconds_axes = figure.subplots(1, 2, sharey=True)
        labels = [s.system for s in systems][::-1]
        shares = [round(s.error_rate_hour * 100, 1) for s in systems][::-1]
        medians = [s.median_seconds_hour for s in systems][::-1]
        colours = ["#c62828" if s.status == "failing" else BAR_COLOUR for s in systems][::-1]
        drawn = errors_axes.barh(labels, shares, color=colours, height=0.6)
        for patch, label, value in zip(drawn.patches, labels, shares, strict=True):
            patch.set_gid(f"felandel-{slug(label)}-{value}")
            errors_axes.text(value, patch.get_y() + patch.get_height() / 2, f" {swedish_number(value)} %",
                             va="center", fontsize=8)
        errors_axes.set_xlim(0, 110)
        errors_axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f} %"))
        errors_axes.set_xlabel("Andel misslyckade förfrågningar")
        errors_axes.set_title("Felandel senaste timmen", loc="left")
        errors_axes.grid(axis="y", visible=False)
        drawn = seconds_axes.barh(labels, medians, color=BAR_COLOUR, height=0.6)
        for patch, label, value in zip(drawn.patches, labels, medians, strict=True):
            patch.set_gid(f"median-{slug(label)}-{value}")
            seconds_axes.text(value, patch.get_y() + patch.get_height() / 2, f" {seconds_text(value)} s",
                              va="center", fontsize=8)
        seconds_axes.set_xlim(0, max(max(medians, default=0) * 1.25, 0.1))
        seconds_axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: seconds_text(v)))
        seconds_axes.set_xlabel("Sekunder (median, lyckade förfrågningar)")
        seconds_axes.set_title("Svarstid senaste timmen", loc="left")
        seconds_axes.grid(axis="y", visible=False)
        failing = [s.system for s in systems if s.status == "failing"]
        description = (f"Portalernas hälsa senaste timmen: {len(systems)} system"
                       + (f", fel nu: {', '.join(failing)}" if failing else ", inga fel nu"))
        return to_svg(figure, "portaler", description)
