"""The import preview as a moderator sees it, on a phone and a desk PC: each
tile's figure big and apart from its label (not "1将新建"), the outcome
badges coloured, the error named by the sheet's column, each row's title.
(SCREENSHOTS=<dir> keeps the pictures.)"""

from __future__ import annotations

import csv
import io
import os
from typing import Any

import pytest

from charitylink.needs import import_files
from tests.factories import PASSWORD
from tests.imports.rows import need_row


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([h for _p, h, _e in import_files.COLUMNS])
    for row in rows:
        writer.writerow(import_files.row_to_file_cells(row))
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("width", [390, 1280])
def test_preview_reads_right(
    live_server: str, page: Any, create_user: Any, tmp_path: Any, width: int
) -> None:
    mod = create_user("moderator", region_prefix="22")
    good = need_row(1, title="低保户老人需要助听器")
    bad = need_row(2)
    bad["household"] = {**bad["household"], "phone": "12"}
    sheet = tmp_path / "needs.csv"
    sheet.write_bytes(_csv([good, bad]))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server}/login")
    page.fill("#email", mod.email)
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]:has-text('登录')")
    page.goto(f"{live_server}/mod/needs/import")
    page.set_input_files("#file", str(sheet))
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".stats")
    tile = page.locator(".stat").first
    figure = tile.locator("b")
    label = tile.locator("span")
    assert figure.inner_text() == "1" and label.inner_text() == "将新建"
    big = float(figure.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert big >= 20, big
    fig_box, label_box = figure.bounding_box(), label.bounding_box()
    assert (
        fig_box and label_box and label_box["y"] >= fig_box["y"] + fig_box["height"] - 1
    )
    for status in ("created", "refused"):
        colour = page.locator(f".badge-{status}").first.evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        assert colour not in ("rgba(0, 0, 0, 0)", "rgb(238, 241, 244)"), status
    assert "电话" in page.locator(".import-errors").inner_text()
    assert "household.phone" not in page.content()
    assert "低保户老人需要助听器" in page.locator("table").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(
            path=os.path.join(os.environ["SCREENSHOTS"], f"import-preview-{width}.png"),
            full_page=True,
        )
    assert not page.problems  # type: ignore[attr-defined]
