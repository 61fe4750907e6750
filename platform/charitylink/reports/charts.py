"""Charts drawn on the server as inline SVG: no JavaScript, no external asset,
allowed by the CSP (presentation attributes, not style attributes). Every text
is escaped. A value of ``None`` is a suppressed figure: drawn as a grey stub
labelled "<5"/"—" rather than a bar."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from charitylink.core.i18n import _

RED = "#c8102e"
BLUE = "#1f6feb"
GREY = "#d0d7de"
INK = "#1f2328"
MUTED = "#656d76"
# Light to dark red, for the map-like tiles.
SHADES = ("#fde8ea", "#f8c1c8", "#f08a97", "#e0526a", "#c8102e")


def _no_data() -> str:
    # Outside the f-strings that print it: the extractor cannot see into those.
    return _("暂无数据")


def _e(value: object) -> str:
    return str(escape(str(value)))


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}" '
        f'font-family="sans-serif" font-size="12">'
        f"<title>{_e(title)}</title>{''.join(body)}</svg>"
    )


# Charts are drawn 360 units wide: a phone's column (390 px less the margins)
# shows them at about their own size, so the 12-unit text stays 12 px. Drawn
# wider, a phone scaled the whole picture (and its text) down to a 6 px blur.
WIDTH = 360


def bar_chart(
    items: Sequence[tuple[str, int | None]],
    fmt: Callable[[int], str],
    title: str,
    hidden_text: str = "<5",
    color: str = RED,
) -> Markup:
    """Horizontal bars, one per (label, value), largest scale = longest bar. The
    label is written above its bar, whole (a long org name is not cut)."""
    bar_w, row_h = 230, 44
    width, height = WIDTH, max(row_h * len(items) + 4, 32)
    top = max((v for _, v in items if v), default=0)
    body: list[str] = []
    if not items:
        body.append(f'<text x="8" y="20" fill="{MUTED}">{_e(_no_data())}</text>')
    for i, (label, value) in enumerate(items):
        y = 2 + i * row_h
        body.append(
            f'<text x="0" y="{y + 14}" fill="{INK}">{_e(_cut(label, 29))}</text>'
        )
        if value is None:
            body.append(
                f'<rect x="0" y="{y + 20}" width="12" height="14" '
                f'fill="{GREY}"/><text x="18" y="{y + 32}" '
                f'fill="{MUTED}">{_e(hidden_text)}</text>'
            )
            continue
        w = 0 if not top else max(1, round(bar_w * value / top)) if value else 0
        body.append(
            f'<rect x="0" y="{y + 20}" width="{w}" height="14" '
            f'rx="2" fill="{color}"/><text x="{w + 6}" y="{y + 32}" '
            f'fill="{INK}">{_e(fmt(value))}</text>'
        )
    return _svg(width, height, title, body)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def month_chart(
    months: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | None], str]],
    fmt: Callable[[int], str],
    title: str,
) -> Markup:
    """A time series by month: one line per (name, values, colour), a legend,
    the first, middle and last month on the axis, the maximum on the y axis."""
    left, right, top_pad, bottom = 10, 10, 28, 36
    plot_w, plot_h = WIDTH - left - right, 180
    width, height = left + plot_w + right, top_pad + plot_h + bottom
    body: list[str] = [
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" '
        f'y2="{top_pad + plot_h}" stroke="{GREY}"/>'
    ]
    peak = max((v for _, vals, _ in series for v in vals if v), default=0)
    n = len(months)
    if not n:
        body.append(
            f'<text x="{left}" y="{top_pad + 20}" fill="{MUTED}">{_e(_no_data())}</text>'
        )
        return _svg(width, height, title, body)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: int) -> float:
        return top_pad + plot_h - (plot_h * v / peak if peak else 0)

    for s, (name, values, color) in enumerate(series):
        lx = left + s * 120
        body.append(
            f'<rect x="{lx}" y="6" width="12" height="12" fill="{color}"/>'
            f'<text x="{lx + 16}" y="16" fill="{INK}">{_e(name)}</text>'
        )
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" '
                f'stroke-width="2"/>'
            )
        for px, py in points:
            body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
    if peak:
        highest = _("最高 %(v)s", v=fmt(peak))
        body.append(
            f'<text x="{left + plot_w}" y="{top_pad - 2}" text-anchor="end" '
            f'fill="{MUTED}">{_e(highest)}</text>'
        )
    for i in sorted({0, n // 2, n - 1}):
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 else "middle"
        body.append(
            f'<text x="{x(i):.1f}" y="{top_pad + plot_h + 18}" '
            f'text-anchor="{anchor}" fill="{MUTED}">{_e(months[i])}</text>'
        )
    return _svg(width, height, title, body)


def tile_map(
    items: Sequence[tuple[str, str, int | None]],
    fmt: Callable[[int], str],
    title: str,
    columns: int = 3,
) -> Markup:
    """A map-like grid: one tile per (code, name, value) in code order, shaded by
    value (five steps); a suppressed value is a grey tile marked "<5". A name
    takes two lines of eight characters ("长春市（区县合并）" whole); a longer
    one ends in "…" and is whole in the tile's title."""
    tile_w, tile_h, gap = 114, 64, 6
    rows = max(1, -(-len(items) // columns))
    width = columns * (tile_w + gap) - gap
    height = rows * (tile_h + gap)
    top = max((v for _, _, v in items if v), default=0)
    body: list[str] = []
    if not items:
        body.append(f'<text x="8" y="20" fill="{MUTED}">{_e(_no_data())}</text>')
    for i, (_code, name, value) in enumerate(sorted(items)):
        cx, cy = (i % columns) * (tile_w + gap), (i // columns) * (tile_h + gap)
        if value is None:
            fill, ink, text = GREY, INK, "<5"
        else:
            step = 0 if not top or not value else min(4, int(5 * value / top - 1e-9))
            fill = SHADES[step] if value else "#f6f8fa"
            ink = "#fff" if step >= 3 else INK
            text = fmt(value)
        cut = name.find("（")  # "长春市" / "（区县合并）": the note on its own line
        cut = cut if 0 < cut <= 8 else 8
        lines = [name[:cut], _cut(name[cut:], 8)] if len(name) > 8 else [name]
        title = _("%(a)s：%(b)s", a=name, b=text)
        body.append(
            f'<rect x="{cx}" y="{cy}" width="{tile_w}" height="{tile_h}" rx="4" '
            f'fill="{fill}"><title>{_e(title)}</title></rect>'
        )
        for n, line in enumerate(lines):
            body.append(
                f'<text x="{cx + 6}" y="{cy + 17 + 15 * n}" fill="{ink}">'
                f"{_e(line)}</text>"
            )
        body.append(
            f'<text x="{cx + 6}" y="{cy + 56}" fill="{ink}" font-weight="bold">'
            f"{_e(text)}</text>"
        )
    return _svg(width, height, title, body)
