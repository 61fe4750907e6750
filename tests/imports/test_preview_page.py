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


def test_a_long_preview_is_paged_refused_rows_first(client, login_as, create_user):
    """A file of hundreds of rows: 100 outcomes a page, the refused ones first,
    a tab per outcome with its count; a bad page number gives a page."""
    login_as(create_user("moderator", region_prefix="22"))
    rows = [need_row(n) for n in range(1, 251)]
    for n in (7, 180, 249):  # rows 8, 181, 250 of the file: a bad phone
        rows[n]["household"] = {**rows[n]["household"], "phone": "12"}
    resp = client.post(
        "/mod/needs/import",
        data={"file": (io.BytesIO(_csv(rows)), "需求.csv")},
        content_type="multipart/form-data",
    )
    url = resp.headers["Location"]

    def shown(html: str) -> list[int]:
        return [int(n) for n in re.findall(r'<td data-label="行号">(\d+)</td>', html)]

    first = client.get(url).get_data(as_text=True)
    listed = shown(first)
    assert len(listed) == 100
    refused_rows = listed[:3]
    assert all(n not in listed[3:] for n in refused_rows)
    assert listed[3:] == sorted(listed[3:])
    assert "第 1 / 3 页" in first and 'rel="next"' in first
    assert re.search(r"拒绝 <span class=\"badge warn\">3</span>", first)
    assert re.search(r"新建 <span class=\"badge\">247</span>", first)
    assert "确认导入（247 条）" in first  # the confirm button counts every row
    third = shown(client.get(f"{url}?page=3").get_data(as_text=True))
    assert len(third) == 50
    every = listed + shown(client.get(f"{url}?page=2").get_data(as_text=True)) + third
    assert sorted(every) == sorted(set(every)) and len(every) == 250
    refused = client.get(f"{url}?status=refused").get_data(as_text=True)
    assert sorted(shown(refused)) == sorted(refused_rows)
    assert 'aria-current="true" class="current">拒绝' in refused
    for bad in ("page=0", "page=99", "page=x", "status=nope", "page=-1"):
        resp = client.get(f"{url}?{bad}")
        assert resp.status_code == 200 and len(shown(resp.get_data(as_text=True))) > 0
    # Applied: the result page shows the first 100 (refused first) and says so.
    done = client.post(f"{url}/confirm").get_data(as_text=True)
    assert "导入完成：新建 247 条" in done
    assert len(shown(done)) == 100 and shown(done)[:3] == refused_rows
    assert "仅显示前 100 行（拒绝的行在前），共 250 行。" in done
