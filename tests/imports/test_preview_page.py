"""The import preview as a moderator reviews it: the tiles' figures styled
like every tile, each outcome with a styled badge, errors named by the column
the person filled (电话, not household.phone), and every row showing what it
is about (title, type, county, amount) without the household's private data."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from charitylink.needs import import_files
from charitylink.needs.import_views import column_of
from tests.imports.rows import need_row

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "app.css"


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([h for _p, h, _e in import_files.COLUMNS])
    for row in rows:
        writer.writerow(import_files.row_to_file_cells(row))
    return out.getvalue().encode("utf-8")


def test_column_of_names_the_sheet_column():
    assert column_of("household.phone") == "电话"
    assert column_of("household.id_number") == "身份证号"
    assert column_of("gov_assistance.1.monthly_amount") == "已享受救助"
    assert column_of("amount") == "需求金额(元)"
    assert column_of("something_else") == "something_else"


def test_preview_can_be_reviewed(client, login_as, create_user):
    login_as(create_user("moderator", region_prefix="22"))
    good = need_row(1, title="低保户老人需要助听器", amount=293_100_00)
    bad = need_row(2)
    bad["household"] = {**bad["household"], "phone": "12"}
    resp = client.post(
        "/mod/needs/import",
        data={"file": (io.BytesIO(_csv([good, bad])), "需求.csv")},
        content_type="multipart/form-data",
    )
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    # Tiles: the figure in the element the tile style is for.
    assert re.search(r'<div class="stat"><b>1</b><span>将新建</span>', html)
    assert "<strong>" not in html.split('class="stats"')[1].split("</div>\n</div>")[0]
    # Badges have a style.
    css = CSS.read_text()
    for status in ("created", "refused"):
        assert f"badge badge-{status}" in html
        assert f".badge-{status}" in css
    assert ".stat strong" in css
    # The column the person filled, not the API field.
    assert "<b>电话</b>：" in html and "household.phone" not in html
    # New rows show what they are.
    assert "低保户老人需要助听器" in html
    assert "¥293,100.00" in html and "南关区" in html
    # No private data of the household on the preview.
    assert good["household"]["name"] not in html
    assert good["household"]["id_number"] not in html
