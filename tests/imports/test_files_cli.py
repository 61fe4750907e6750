"""Import from files: encodings, XLSX, template, upload preview, CLI, interruption."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlalchemy import create_engine, func, select, text

from charitylink.core.audit import AuditEvent
from charitylink.core.money import fen_to_yuan_str
from charitylink.extensions import db
from charitylink.needs import import_files
from charitylink.needs.models import Need
from tests.conftest import TEST_DATA_KEY, TEST_SECRET
from tests.imports.rows import need_row

ROOT = Path(__file__).resolve().parents[2]


def _chinese_rows(rows: list[dict]) -> list[list[str]]:
    header = [h for _p, h, _e in import_files.COLUMNS]
    return [header] + [import_files.row_to_file_cells(r) for r in rows]


def _csv_bytes(rows: list[dict], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(_chinese_rows(rows))
    return buf.getvalue().encode(encoding)


def _xlsx_bytes(rows: list[dict]) -> bytes:
    wb = Workbook()
    for line in _chinese_rows(rows):
        wb.active.append(line)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Need)) or 0


def test_csv_in_utf8_bom_and_gb18030_and_xlsx_read_alike(app) -> None:
    rows = [need_row(1), need_row(2, category="tekun", urgency="critical")]
    variants = {
        "utf8": _csv_bytes(rows, "utf-8"),
        "bom": _csv_bytes(rows, "utf-8-sig"),
        "gb18030": _csv_bytes(rows, "gb18030"),
        "xlsx": _xlsx_bytes(rows),
    }
    parsed = {
        k: import_files.parse_file(v, f"x.{'xlsx' if k == 'xlsx' else 'csv'}", 100)
        for k, v in variants.items()
    }
    first = [(r.row, r.data, r.errors) for r in parsed["utf8"].rows]
    assert first[0][0] == 2  # sheet line numbers: the header is line 1
    assert first[1][1]["category"] == "tekun"
    assert first[1][1]["urgency"] == "critical"  # 特急 → critical
    assert first[0][1]["amount"] == rows[0]["amount"]  # yuan in the file, fen here
    assert first[0][1]["gov_assistance"] == rows[0]["gov_assistance"]
    for key in ("bom", "gb18030", "xlsx"):
        assert [(r.row, r.data, r.errors) for r in parsed[key].rows] == first, key


def test_file_labels_and_errors_name_the_column(app) -> None:
    header = [h for _p, h, _e in import_files.COLUMNS]
    cells = import_files.row_to_file_cells(need_row(1))
    cells[header.index("家庭类别")] = "富裕家庭"
    cells[header.index("需求金额(元)")] = "12.345"
    data = "\n".join([",".join(header), ",".join(cells)]).encode()
    (row,) = import_files.parse_file(data, "x.csv", 10).rows
    assert "最低生活保障对象" in row.errors["category"]
    assert "两位小数" in row.errors["amount"]


def test_missing_required_column_is_a_clear_error(app) -> None:
    try:
        import_files.parse_file("标题,描述\n甲,乙\n".encode(), "x.csv", 10)
    except import_files.ImportFileError as exc:
        assert "外部编号" in str(exc)
    else:
        raise AssertionError("expected ImportFileError")


def test_upload_preview_then_confirm(client, login_as, create_user) -> None:
    mod = create_user("moderator", region_prefix="22")
    login_as(mod)
    bad = need_row(3, amount=-1)
    data = _csv_bytes([need_row(1), need_row(2), bad], "gb18030")
    resp = client.post(
        "/mod/needs/import",
        data={"file": (io.BytesIO(data), "需求.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    preview = client.get(resp.headers["Location"])
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "将新建" in page and "确认导入（2 条）" in page
    assert "需求金额" in page or "amount" in page
    assert _count() == 0  # nothing written before the confirm
    stored = list((Path(client.application.instance_path) / "imports").glob("*.enc"))
    assert len(stored) == 1
    assert "测试户1" not in stored[0].read_text()  # encrypted at rest
    confirm = client.post(resp.headers["Location"] + "/confirm")
    assert confirm.status_code == 200
    assert "导入完成：新建 2 条" in confirm.get_data(as_text=True)
    assert _count() == 2
    assert not stored[0].exists()
    # Another moderator cannot open someone else's preview.
    login_as(create_user("moderator"))
    assert client.get(resp.headers["Location"]).status_code == 404


def test_upload_refuses_unreadable_file(client, login_as, create_user) -> None:
    login_as(create_user("moderator"))
    resp = client.post(
        "/mod/needs/import",
        data={"file": (io.BytesIO(b"PK\x03\x04garbage"), "x.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "无法读取 XLSX 文件" in resp.get_data(as_text=True)


def test_templates_download_with_chinese_headers(client, login_as, create_user) -> None:
    login_as(create_user("moderator"))
    xlsx = client.get("/mod/needs/import/template.xlsx")
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.data))
    header = [c.value for c in wb.worksheets[0][1]]
    assert header[:3] == ["外部编号", "标题", "描述"]
    assert "填写说明" in wb.sheetnames
    csv_resp = client.get("/mod/needs/import/template.csv")
    assert csv_resp.data.decode("utf-8-sig").startswith("外部编号,标题")
    # The template itself parses (its example row fails only on placeholders).
    parsed = import_files.parse_file(xlsx.data, "t.xlsx", 10)
    assert parsed.unknown_columns == []


def test_cli_imports_with_progress_and_reports_refused(
    runner, tmp_path, create_user
) -> None:
    mod = create_user("moderator", region_prefix="22")
    path = tmp_path / "needs.xlsx"
    path.write_bytes(_xlsx_bytes([need_row(1), need_row(2, category="x")]))
    result = runner.invoke(args=["import-needs", str(path), "--moderator", mod.email])
    assert result.exit_code == 0, result.output
    assert "新建 1" in result.output and "拒绝 1" in result.output
    assert "第 3 行" in result.output
    assert _count() == 1
    again = runner.invoke(args=["import-needs", str(path), "--moderator", mod.email])
    assert "未变化 1" in again.output
    assert _count() == 1
    bad = runner.invoke(args=["import-needs", str(path), "--moderator", "x@y.org"])
    assert bad.exit_code != 0 and "不是有效的民政审核员" in bad.output


def test_killed_import_leaves_whole_batches_and_rerun_completes(
    app, runner, tmp_path, create_user
) -> None:
    mod = create_user("moderator", region_prefix="22")
    total, batch = 400, 20
    path = tmp_path / "needs.csv"
    path.write_bytes(_csv_bytes([need_row(i) for i in range(1, total + 1)], "utf-8"))
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "DATA_KEY": TEST_DATA_KEY,
        "SECRET_KEY": TEST_SECRET,
        "CHARITYLINK_INSTANCE": str(tmp_path / "instance"),
        "PYTHONPATH": str(ROOT / "platform"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "import-needs",
            str(path),
            "--moderator",
            mod.email,
            "--batch-size",
            str(batch),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    deadline = time.monotonic() + 120
    try:
        with engine.connect() as conn:
            while time.monotonic() < deadline and proc.poll() is None:
                done = conn.execute(text("SELECT count(*) FROM needs")).scalar()
                conn.rollback()
                if done >= 2 * batch:
                    break
                time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        engine.dispose()
    db.session.rollback()
    written = _count()
    assert written < total, "the import finished before it could be killed"
    assert written % batch == 0  # only whole batches were committed
    # Each committed need has its audit row (same transaction).
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "need.create")
        )
        == written
    )
    result = runner.invoke(args=["import-needs", str(path), "--moderator", mod.email])
    assert result.exit_code == 0, result.output
    assert f"新建 {total - written}" in result.output
    assert f"未变化 {written}" in result.output
    assert _count() == total


def test_row_cells_round_trip(app) -> None:
    row = need_row(5, gov_assistance=[{"type": "medical", "monthly_amount": 1050}])
    cells = import_files.row_to_file_cells(row)
    assert fen_to_yuan_str(row["amount"]) in cells
    assert "医疗救助:10.50" in cells


def test_id_number_stored_as_excel_number_is_refused_with_a_hint(app) -> None:
    wb = Workbook()
    header = [h for _p, h, _e in import_files.COLUMNS]
    cells: list = import_files.row_to_file_cells(need_row(1))
    cells[header.index("身份证号")] = 2.2010219580312e17
    wb.active.append(header)
    wb.active.append(cells)
    out = io.BytesIO()
    wb.save(out)
    (row,) = import_files.parse_file(out.getvalue(), "x.xlsx", 10).rows
    assert "文本格式" in row.errors["household.id_number"]
