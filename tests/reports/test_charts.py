"""Server-side SVG charts: valid markup, escaped text, suppressed values drawn
as marks rather than bars."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from charitylink.core.formatting import yuan
from charitylink.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_chart_escapes_labels_and_marks_suppressed_values():
    svg = charts.bar_chart([("<b>医疗</b>", 120_000), ("教育", None)], yuan, "图")
    root = ET.fromstring(str(svg))
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "<b>医疗</b>" in texts and "¥1,200.00" in texts and "<5" in texts
    assert "<b>" not in str(svg)
    bars = [r for r in root.iter(SVG + "rect") if r.get("rx") == "2"]
    assert len(bars) == 1  # no bar for the suppressed value


def test_month_chart_and_tile_map_are_well_formed():
    months = ["2026-01", "2026-02", "2026-03"]
    svg = charts.month_chart(
        months, [("交付", [100, None, 300], charts.BLUE)], yuan, "按月"
    )
    root = ET.fromstring(str(svg))
    assert len(list(root.iter(SVG + "circle"))) == 2
    assert {t.text for t in root.iter(SVG + "text")} >= {"2026-01", "2026-03"}
    tiles = charts.tile_map(
        [("220102", "南关区", 500), ("220103", "宽城区", None)], yuan, "地图"
    )
    root = ET.fromstring(str(tiles))
    assert "南关区" in [t.text for t in root.iter(SVG + "text")]
    assert ET.fromstring(str(charts.bar_chart([], yuan, "空"))) is not None
