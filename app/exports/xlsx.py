"""Safe xlsx helpers: user-typed text never becomes a formula or a link, large lists stream.

Every text cell goes through ``write_string`` with ``safe_text``: ``=1+1``, ``+SUM(A1)``, ``-2``,
``@cmd`` or a leading tab stay literal strings (no ``'`` prefix is added, so the printed value is
exactly what was typed). The workbook options switch off xlsxwriter's string→formula/URL/number
guessing too, as a second fence for any ``write()`` call that slips in later.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any, Iterable, Sequence

import xlsxwriter

WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
MAX_CELL_CHARS = 32767  # Excel's limit per cell
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def number_text(value: float | int) -> str:
    """A figure as people write it: at most 2 decimals, no trailing zeros (80.0 → "80")."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def safe_text(value: Any) -> str:
    """Any value as the literal text a cell shows.

    None becomes "", dates ISO, numbers without trailing zeros, booleans 是/否. Line breaks are
    normalised to LF (XML turns a bare CR into LF anyway; Excel breaks lines on LF), other control
    characters, which XML 1.0 cannot carry and nobody can see, are dropped; text is cut at Excel's
    32,767-character limit. A leading ``=``, ``+``, ``-``, ``@`` or tab is kept as typed: the cell is
    written with ``write_string`` and therefore stays text.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return number_text(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return text[:MAX_CELL_CHARS]


def write_value(ws, row: int, col: int, value: Any, fmt=None) -> None:
    """Write one cell: real numbers as numbers, everything else as literal text, None as blank."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, safe_text(value), fmt)


def new_workbook(target, *, constant_memory: bool = False) -> xlsxwriter.Workbook:
    """A workbook with the safe options; ``target`` is a path or a binary file object."""
    options = dict(WORKBOOK_OPTIONS)
    if constant_memory:
        options["constant_memory"] = True
    if not isinstance(target, (str, bytes)) and not hasattr(target, "__fspath__"):
        options["in_memory"] = True  # BytesIO: no temp files
    return xlsxwriter.Workbook(target, options)


def sheet_name(title: str) -> str:
    """A valid worksheet name: no []:*?/\\ characters, at most 31 characters, never empty."""
    name = _SHEET_BAD.sub("_", safe_text(title)).strip("'").strip()
    return (name or "Sheet1")[:31]


def display_width(text: str) -> int:
    """Width in Excel character units: CJK and other wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table_workbook(
    path,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    constant_memory: bool = True,
    widths: Sequence[float] | None = None,
) -> int:
    """Write one list as a single-sheet workbook, row by row, and return the number of data rows.

    With ``constant_memory`` (the default) xlsxwriter flushes each row to disk as soon as the next
    one starts, so memory stays flat however many rows ``rows`` yields; rows are written in order.
    The sheet prints landscape on A4, one page wide, with the header row repeated on every page.

    Args:
        path: File path or binary file object.
        title: Sheet name (and document title).
        headers: Column headings.
        rows: Any iterable of row sequences (a generator keeps memory flat end to end).
        constant_memory: Stream rows to disk (turn off only for tiny tables that need random access).
        widths: Column widths; by default taken from the headings.
    """
    wb = new_workbook(path, constant_memory=constant_memory)
    wb.set_properties({"title": safe_text(title)})
    ws = wb.add_worksheet(sheet_name(title))
    head = wb.add_format({"bold": True, "border": 1, "bg_color": "#D9E1F2", "align": "center",
                          "valign": "vcenter", "text_wrap": True})
    cell = wb.add_format({"border": 1, "valign": "top"})
    for col, heading in enumerate(headers):
        width = widths[col] if widths and col < len(widths) else min(max(display_width(heading) + 4, 10), 40)
        ws.set_column(col, col, width)
    ws.set_row(0, 22)
    for col, heading in enumerate(headers):
        ws.write_string(0, col, safe_text(heading), head)
    ws.freeze_panes(1, 0)
    count = 0
    for count, values in enumerate(rows, start=1):
        for col, value in enumerate(values):
            write_value(ws, count, col, value, cell)
    last_col = max(len(headers) - 1, 0)
    ws.autofilter(0, 0, max(count, 1), last_col)
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.print_area(0, 0, max(count, 1), last_col)
    ws.set_footer("&C第 &P 页，共 &N 页")
    wb.close()
    return count
