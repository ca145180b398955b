"""Reading an uploaded workbook: refuse what is not an .xlsx or not our template, then yield its rows."""
from __future__ import annotations

import io
import zipfile
from typing import Any

from app.imports.cells import is_blank, text
from app.imports.schema import Kind

NOT_XLSX = "文件不是有效的 Excel (.xlsx) 文件"
XLS_HINT = "（旧版 .xls 文件请先在 Excel 中另存为 .xlsx）"
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024  # a small upload that inflates beyond this is refused
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

Row = tuple[int, dict[str, Any]]  # (Excel row number, header → cell value)


class FileRejected(ValueError):
    """The whole file is refused before any row is looked at; ``message`` is Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _open(data: bytes):
    import openpyxl

    if data[:8] == _OLE2_MAGIC:
        raise FileRejected(NOT_XLSX + XLS_HINT)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED_BYTES:
                raise FileRejected("文件解压后过大，请拆分后再导入")
    except zipfile.BadZipFile:
        raise FileRejected(NOT_XLSX) from None
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a zip that is not a workbook: openpyxl raises KeyError, InvalidFileException, …
        raise FileRejected(NOT_XLSX) from None


def read_rows(data: bytes, kind: Kind, *, max_rows: int = 300_000) -> list[Row]:
    """The data rows of the first sheet, keyed by header, after checking the header row.

    Args:
        data: The uploaded file.
        kind: The import kind whose template the header row must match.
        max_rows: More data rows than this refuse the file.

    Returns:
        ``(row number, {header: value})`` for every non-blank row below the header, in file order;
        row numbers are Excel's (the header is row 1).

    Raises:
        FileRejected: not an .xlsx, a header row without all template columns, no data, too many rows.
    """
    wb = _open(data)
    try:
        return _rows(wb, kind, max_rows)
    except FileRejected:
        raise
    except Exception:  # broken sheet XML inside a valid zip
        raise FileRejected(NOT_XLSX) from None
    finally:
        wb.close()


def _rows(wb, kind: Kind, max_rows: int) -> list[Row]:
    if not wb.worksheets:
        raise FileRejected(NOT_XLSX)
    sheet = wb.worksheets[0]  # the first sheet, whichever was active when the file was saved
    lines = sheet.iter_rows(values_only=True)
    header = next(lines, None) or ()
    positions: dict[str, int] = {}
    wanted = set(kind.headers) | set(kind.extra_headers)
    for index, cell in enumerate(header):
        name = text(cell).replace(" ", "").strip("*")
        if name in wanted:
            if name in positions:
                raise FileRejected(f"表头与模板不一致：列“{name}”出现了多次")
            positions[name] = index
    missing = [h for h in kind.headers if h not in positions]
    if missing:
        raise FileRejected("表头与模板不一致：缺少列 " + "、".join(missing) + f"（请使用“{kind.label}”导入模板）")
    out: list[Row] = []
    items = list(positions.items())
    for number, line in enumerate(lines, start=2):
        if not line:
            continue
        values = {name: (line[i] if i < len(line) else None) for name, i in items}
        if all(is_blank(v) for v in values.values()):
            continue
        if len(out) >= max_rows:
            raise FileRejected(f"数据超过 {max_rows} 行，请拆分文件后分批导入")
        out.append((number, values))
    if not out:
        raise FileRejected("文件中没有数据行（第 1 行为表头，数据从第 2 行开始）")
    return out
