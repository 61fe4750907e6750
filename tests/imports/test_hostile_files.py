"""Hostile spreadsheets: each is refused with a clear Chinese message or read
within bounded memory (a 1.7 KB file once grew a worker to 3.75 GB).

The files are written here by hand (zipfile and XML strings). Memory is measured
in a child process, under an address-space limit so that a regression fails the
test instead of the machine: its peak RSS must stay under ``PEAK_LIMIT_MB``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from charitylink.needs import import_files
from tests.imports.test_files_cli import _count

ROOT = Path(__file__).resolve().parents[2]
PEAK_LIMIT_MB = 200
HEADERS = [h for _p, h, _e in import_files.COLUMNS]

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_OPEN = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _col(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell(row: int, col: int, text: str) -> str:
    return f'<c r="{_col(col)}{row}" t="inlineStr"><is><t>{text}</t></is></c>'


def _header_row() -> str:
    cells = "".join(_cell(1, i, h) for i, h in enumerate(HEADERS, start=1))
    return f'<row r="1">{cells}</row>'


def _xlsx(sheet: str | bytes, *, prolog: str = "") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            sheet if isinstance(sheet, bytes) else prolog + sheet,
        )
    return out.getvalue()


def dimension_bomb() -> bytes:
    """The penetration test's file: a declared A1:XFD1048576 and one far cell."""
    return _xlsx(
        SHEET_OPEN + '<dimension ref="A1:XFD1048576"/><sheetData>'
        f'<row r="1048576">{_cell(1048576, 16384, "x")}</row>'
        "</sheetData></worksheet>"
    )


def far_row_after_header() -> bytes:
    """A real header, then one cell a million rows further down."""
    return _xlsx(
        SHEET_OPEN
        + '<dimension ref="A1:XFD1048576"/><sheetData>'
        + _header_row()
        + f'<row r="1048576">{_cell(1048576, 1, "JL-1")}</row>'
        "</sheetData></worksheet>"
    )


def wide_row(columns: int) -> bytes:
    extra = "".join(
        f'<c r="{_col(i)}2"><v>{i}</v></c>'
        for i in range(len(HEADERS) + 1, columns + 1)
    )
    return _xlsx(
        SHEET_OPEN + "<sheetData>" + _header_row() + f'<row r="2">{extra}</row>'
        "</sheetData></worksheet>"
    )


def billion_laughs() -> bytes:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return _xlsx(
        SHEET_OPEN + f'<sheetData><row r="1">{_cell(1, 1, "&a9;")}</row>'
        "</sheetData></worksheet>",
        prolog=f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>',
    )


def plain_doctype() -> bytes:
    return _xlsx(
        SHEET_OPEN + "<sheetData>" + _header_row() + "</sheetData></worksheet>",
        prolog='<?xml version="1.0"?><!DOCTYPE worksheet SYSTEM "file:///etc/passwd">',
    )


def zip_bomb() -> bytes:
    """A sheet that inflates to 72 MB from about 70 KB."""
    out = io.BytesIO()
    size = 72 * 1024 * 1024  # past the 64 MB a worksheet may inflate to
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in (
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        ):
            zf.writestr(name, text)
        with zf.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write((SHEET_OPEN + "<sheetData>").encode())
            chunk = b" " * (1024 * 1024)
            for _ in range(size // len(chunk)):
                part.write(chunk)
            part.write(b"</sheetData></worksheet>")
    return out.getvalue()


def many_empty_rows() -> bytes:
    rows = "".join(f'<row r="{i}"/>' for i in range(2, 200_002))
    return _xlsx(
        SHEET_OPEN + "<sheetData>" + _header_row() + rows + "</sheetData></worksheet>"
    )


CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
from charitylink.needs import import_files
results = {}
for path in sys.argv[1:]:
    out = results[path] = {}
    try:
        parsed = import_files.parse_file(open(path, "rb").read(), "x.xlsx", 5000)
        out["rows"] = [r.row for r in parsed.rows]
    except import_files.ImportFileError as exc:
        out["refused"] = str(exc)
    except MemoryError:
        out["memory_error"] = True
    # The process's peak so far (files are read in turn): VmHWM, not ru_maxrss,
    # which keeps the forking parent's size across exec.
    status = open("/proc/self/status").read()
    kb = int(status.split("VmHWM:")[1].split()[0])
    out["peak_mb"] = kb / 1024
print(json.dumps(results, ensure_ascii=False))
"""

FILES = {
    "dimension_bomb": dimension_bomb,
    "far_row": far_row_after_header,
    "wide_3000": lambda: wide_row(3000),
    "wide_16384": lambda: wide_row(16384),
    "billion_laughs": billion_laughs,
    "doctype": plain_doctype,
    "zip_bomb": zip_bomb,
    "empty_rows": many_empty_rows,
}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict[str, dict]:
    """Every hostile file read in one child process (imports are slow)."""
    folder = tmp_path_factory.mktemp("hostile")
    paths = []
    for name, build in FILES.items():
        paths.append(folder / f"{name}.xlsx")
        paths[-1].write_bytes(build())
    # The baseline (interpreter + openpyxl) is part of the peak: the limit is
    # generous on purpose, what it catches is growth with the file's claims.
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "platform"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    return {Path(path).stem: result for path, result in results.items()}


def _result(parsed: dict[str, dict], name: str) -> dict:
    result = parsed[name]
    assert not result.get("memory_error"), result
    assert result["peak_mb"] < PEAK_LIMIT_MB, result
    return result


def test_dimension_bomb_is_read_in_bounded_memory(parsed) -> None:
    assert len(dimension_bomb()) < 2048  # as small as the reported file
    result = _result(parsed, "dimension_bomb")
    # Its one cell lies far beyond the columns read: nothing in the file.
    assert result["refused"] == "文件是空的。"


def test_far_row_is_reached_lazily_with_its_line_number(parsed) -> None:
    assert _result(parsed, "far_row")["rows"] == [1048576]


def test_thousands_of_columns_are_capped_or_refused(parsed) -> None:
    # 3,000 numbers in a row: read, only the template's width is looked at.
    assert _result(parsed, "wide_3000")["rows"] == [2]
    # Every column of the sheet (16,384) filled: refused before reading.
    assert "单元格过多" in _result(parsed, "wide_16384")["refused"]


@pytest.mark.parametrize("name", ["billion_laughs", "doctype"])
def test_dtd_and_entities_are_refused(parsed, name) -> None:
    assert "DTD" in _result(parsed, name)["refused"]


def test_zip_bomb_is_refused_by_declared_size(parsed) -> None:
    assert len(zip_bomb()) < 1024 * 1024
    assert "解压后过大" in _result(parsed, "zip_bomb")["refused"]


def test_a_sheet_of_empty_rows_is_refused(parsed) -> None:
    assert "行数过多" in _result(parsed, "empty_rows")["refused"]


def test_csv_with_an_oversized_field_is_a_clear_refusal(app) -> None:
    raw = (",".join(HEADERS) + "\n" + '"' + "长" * 200_000 + '",x\n').encode()
    with pytest.raises(import_files.ImportFileError, match="CSV 文件格式有误"):
        import_files.parse_file(raw, "x.csv", 10)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (dimension_bomb, "文件是空的"),
        (billion_laughs, "DTD"),
        (zip_bomb, "解压后过大"),
    ],
)
def test_upload_page_refuses_with_the_message(
    client, login_as, create_user, build, message
) -> None:
    login_as(create_user("moderator"))
    resp = client.post(
        "/mod/needs/import",
        data={"file": (io.BytesIO(build()), "x.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    assert not list((Path(client.application.instance_path) / "imports").glob("*"))
    assert _count() == 0


def test_cli_refuses_with_the_message(runner, tmp_path, create_user) -> None:
    mod = create_user("moderator", region_prefix="22")
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(billion_laughs())
    result = runner.invoke(args=["import-needs", str(path), "--moderator", mod.email])
    assert result.exit_code != 0 and "DTD" in result.output
    path.write_bytes(far_row_after_header())
    result = runner.invoke(args=["import-needs", str(path), "--moderator", mod.email])
    assert result.exit_code == 0, result.output
    assert "拒绝 1" in result.output and "第 1048576 行" in result.output
    assert _count() == 0
