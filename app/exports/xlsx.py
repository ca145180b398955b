"""Safe xlsx helpers: user-typed text never becomes a formula or a link, large lists stream.

Every text is ``safe_text`` and written with xlsxwriter's public API only (``write_string``,
``write_row``, ``write_rich_string``): ``=1+1``, ``+SUM(A1)``, ``-2``, ``@cmd``, a leading tab or
``<r>…</r>`` markup stay literal strings (no ``'`` prefix is added, so the printed value is exactly what
was typed). The workbook options switch off xlsxwriter's string→formula/URL/number guessing, which is what
keeps ``write_row`` (xlsxwriter's ``write()`` per cell) from turning text into formulas.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

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
    if len(text) > MAX_CELL_CHARS // 2:  # the limit counts UTF-16 units: a character beyond U+FFFF takes two
        text = text.encode("utf-16-le")[: 2 * MAX_CELL_CHARS].decode("utf-16-le", errors="ignore")
    return text


def _rich_markup(text: str) -> bool:
    """Text shaped like ``<r>…</r>``: xlsxwriter copies such a string into the file as raw rich-text XML
    (shared or inline), so typed text like that would become markup — or an unreadable workbook."""
    return text.startswith("<r>") and text.endswith("</r>")


def _write_text(ws, row: int, col: int, text: str, fmt=None) -> None:
    """A literal text cell; markup-shaped text goes in as plain rich-text runs (xlsxwriter escapes those;
    it wants at least three parts) that read back as exactly the typed text."""
    if _rich_markup(text):
        parts = (text[:1], text[1:3], text[3:])
        if fmt is None:
            ws.write_rich_string(row, col, *parts)
        else:
            ws.write_rich_string(row, col, *parts, fmt)
    else:
        ws.write_string(row, col, text, fmt)


def write_value(ws, row: int, col: int, value: Any, fmt=None) -> None:
    """Write one cell: real numbers as numbers, everything else as literal text, None as blank."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    else:
        _write_text(ws, row, col, safe_text(value), fmt)


def write_rows(ws, first_row: int, rows: Iterable[Sequence[Any]], cell_format=None) -> int:
    """Write ``rows`` from ``first_row`` down with xlsxwriter's public ``write_row``; return how many.

    Blanks become None, real numbers stay numbers, everything else ``safe_text`` (a bool is 是/否, a date
    ISO text); the workbook's options (no string→formula/URL/number guessing) keep every text a string
    cell, and a row holding markup-shaped text is written cell by cell through ``write_value``. In
    constant_memory mode xlsxwriter flushes each row to disk when the next one starts: memory stays flat.
    """
    write_row = ws.write_row
    row = first_row
    for values in rows:
        cells: list[Any] = []
        append = cells.append
        markup = False
        for value in values:
            kind = type(value)
            if value is None or value == "":
                append(None)
            elif kind is str:
                text = safe_text(value)
                markup = markup or _rich_markup(text)
                append(text)
            elif kind is int or kind is float or (isinstance(value, (int, float)) and kind is not bool):
                append(value)
            else:
                append(safe_text(value))
        if markup:
            for col, value in enumerate(cells):
                write_value(ws, row, col, value, cell_format)
        else:
            write_row(row, 0, cells, cell_format)
        row += 1
    return row - first_row


# --------------------------------------------------------------------------- fast path (one xlsxwriter release)

# The xlsxwriter release whose constant_memory row XML ``StreamingWorksheet`` reproduces. Any other
# installed release: the public path. requirements.in pins exactly this (a test checks both).
FAST_ROWS_XLSXWRITER = "3.3.1"

# Text that needs more than the plain fast path: markup characters, control characters, xlsxwriter's
# own _xHHHH_ escape pattern, or leading/trailing whitespace (xml:space="preserve").
_NEEDS_CARE = re.compile(r"[\x00-\x1f\x7f&<>]|_x[0-9a-fA-F]{4}_|^\s|\s$")
# The same test over a whole row's texts joined with U+FFFF (a noncharacter, never whitespace or
# markup): one search per row instead of one per cell. It can only err towards "needs care".
_ROW_SEPARATOR = "\uffff"
_ROW_NEEDS_CARE = re.compile(r"[\x00-\x1f\x7f&<>]|_x[0-9a-fA-F]{4}_|(?:^|\uffff)\s|\s(?:\uffff|$)")
_XL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_XL_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")


def _inline_text(text: str) -> tuple[str, str]:
    """(``<t>`` attribute, escaped body) of an inline string, as xlsxwriter's constant_memory writer
    makes them (``_xHHHH_`` escapes, xml:space, &<>)."""
    text = _XL_ESCAPE.sub(r"_x005F\1", text)
    text = _XL_CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    preserve = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    return preserve, text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class StreamingWorksheet(Worksheet):
    """The fast path: a worksheet that appends whole rows of plain values in one step (constant_memory).

    It writes into xlsxwriter's private row file, so it is used only with the one xlsxwriter release it
    was checked against (``FAST_ROWS_XLSXWRITER``, the pin in requirements.in); with any other release
    ``table_workbook`` uses the public ``write_rows``. xlsxwriter's public calls cost ≈6 µs a cell; for
    the 100,000-row 汇总表 (2.4 M cells) that is 15 s of CPU against 2 s here (docs/PERFORMANCE.md).
    ``append_rows`` writes the very XML ``write_rows`` writes (tests compare the files byte for byte):
    every text is ``safe_text`` and an inline *string* cell, so nothing typed becomes a formula, a link
    or a number; a row holding markup-shaped text is handed to the public ``write_value``.
    """

    def append_rows(self, first_row: int, rows: Iterable[Sequence[Any]], cell_format=None) -> int:
        """Write ``rows`` from ``first_row`` down and return how many were written.

        Only in constant_memory mode and below every row written so far; the rows get the default
        height. Values: None/"" blank, int/float numbers, anything else ``safe_text``.
        """
        if not self.constant_memory:
            raise ValueError("append_rows needs constant_memory mode")
        if first_row < self.previous_row or (first_row == self.previous_row and self.table.get(first_row)):
            raise ValueError("append_rows must start below the rows already written")
        self._write_single_row(first_row)  # flush the row still held in memory (the header)
        style = f' s="{cell_format._get_xf_index()}"' if cell_format is not None else ""
        blank_end = f'"{style}/>' if style else None  # a blank cell is written only with a format
        text_end = f'"{style} t="inlineStr"><is><t>'
        opens: list[str] = []  # '<c r="B' per column: the row number completes the reference
        write = self.fh.write
        pending: list[str] = []
        care = _NEEDS_CARE.search
        row_care = _ROW_NEEDS_CARE.search
        join = _ROW_SEPARATOR.join
        row = first_row
        for values in rows:
            if row >= self.xls_rowmax:
                raise ValueError("more rows than a worksheet can hold")
            if len(values) > len(opens):
                opens.extend(f'<c r="{xl_col_to_name(c)}' for c in range(len(opens), len(values)))
            texts = join([v for v in values if type(v) is str])
            if "</r>" in texts:  # may be markup-shaped (after safe_text too): the public path decides
                write("".join(pending))  # rows above first, then this one through the public API
                pending.clear()
                self.previous_row = row
                for col, value in enumerate(values):
                    write_value(self, row, col, value, cell_format)
                self._write_single_row(row + 1)
                row += 1
                continue
            number = str(row + 1)
            parts = []
            append = parts.append
            plain_row = not row_care(texts)
            for cell, value in zip(opens, values, strict=False):  # opens may be longer than the row
                if value is None or value == "":
                    if blank_end is not None:
                        append(f"{cell}{number}{blank_end}")
                    continue
                kind = type(value)
                if kind is str:
                    if len(value) <= MAX_CELL_CHARS and (plain_row or not care(value)):  # plain text
                        append(f"{cell}{number}{text_end}{value}</t></is></c>")
                        continue
                elif kind is int or kind is float or (isinstance(value, (int, float)) and not isinstance(value, bool)):
                    if not math.isfinite(value):
                        raise TypeError("NAN/INF not supported in write_number()")
                    append(f'{cell}{number}"{style}><v>{value:.16G}</v></c>')
                    continue
                value = safe_text(value)
                if care(value):
                    preserve, value = _inline_text(value)
                    append(f'{cell}{number}"{style} t="inlineStr"><is><t{preserve}>{value}</t></is></c>')
                else:
                    append(f"{cell}{number}{text_end}{value}</t></is></c>")
            if parts:
                pending.append(f'<row r="{number}">{"".join(parts)}</row>')
                if len(pending) == 256:  # large writes: each one may hand the GIL to a reading thread
                    write("".join(pending))
                    pending.clear()
            row += 1
        write("".join(pending))
        if row > first_row and opens:
            self._check_dimensions(first_row, 0)
            self._check_dimensions(row - 1, len(opens) - 1)
        self.previous_row = row  # rows above are on disk; later writes there are refused as usual
        return row - first_row


def fast_rows_available() -> bool:
    """The installed xlsxwriter is the release the fast path was checked against, byte for byte."""
    return xlsxwriter.__version__ == FAST_ROWS_XLSXWRITER


# --------------------------------------------------------------------------- workbooks


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
    fast = constant_memory and fast_rows_available()
    ws = wb.add_worksheet(sheet_name(title), worksheet_class=StreamingWorksheet if fast else None)
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
    if fast and ws.constant_memory:  # (xlsxwriter turns constant_memory off for in-memory targets)
        count = ws.append_rows(1, rows, cell)
    else:
        count = write_rows(ws, 1, rows, cell)
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
