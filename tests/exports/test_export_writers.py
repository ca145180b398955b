"""The safe xlsx helpers: literal text, streaming lists, print setup."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from app.exports.xlsx import MAX_CELL_CHARS, safe_text, sheet_name, table_workbook

INJECTIONS = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x", '=HYPERLINK("http://evil")', "http://example.com"]


def test_safe_text_keeps_formula_like_text_as_typed():
    """Text starting with = + - @ or a tab is returned unchanged (no quote prefix added)."""
    for value in INJECTIONS:
        assert safe_text(value) == value


def test_safe_text_formats_plain_values():
    """None, dates, numbers and booleans become the text a registrar expects to read."""
    assert safe_text(None) == ""
    assert safe_text(dt.date(2024, 1, 2)) == "2024-01-02"
    assert safe_text(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05"
    assert safe_text(80.0) == "80"
    assert safe_text(78.5) == "78.5"
    assert safe_text(True) == "是"


def test_safe_text_normalises_line_breaks_and_drops_control_characters():
    """CR/CRLF become LF (what XML would make of them anyway); invisible control characters go."""
    assert safe_text("a\r\nb\rc") == "a\nb\nc"
    assert safe_text("\r=x") == "\n=x"
    assert safe_text("a\x01b\x7fc") == "abc"


def test_safe_text_cuts_at_excel_cell_limit():
    """A cell never receives more than Excel's 32,767 characters."""
    assert len(safe_text("字" * (MAX_CELL_CHARS + 10))) == MAX_CELL_CHARS


def test_sheet_name_is_valid():
    """Worksheet names lose the characters Excel forbids and stay within 31 characters."""
    assert sheet_name("a/b:c*d?[e]") == "a_b_c_d__e_"
    assert len(sheet_name("长" * 40)) == 31
    assert sheet_name("") == "Sheet1"


@pytest.mark.parametrize("constant_memory", [True, False])
def test_table_workbook_writes_formula_like_text_as_literal_strings(tmp_path, constant_memory):
    """User-typed text that looks like a formula is stored as a string cell with the same value."""
    path = tmp_path / "t.xlsx"
    rows = [[v, 1] for v in INJECTIONS]
    assert table_workbook(str(path), "名单", ["姓名", "数"], rows, constant_memory=constant_memory) == len(rows)
    ws = openpyxl.load_workbook(path).active
    for i, value in enumerate(INJECTIONS, start=2):
        cell = ws.cell(i, 1)
        assert cell.data_type == "s", value
        assert cell.value == value
        assert ws.cell(i, 2).value == 1 and ws.cell(i, 2).data_type == "n"


def test_table_workbook_streams_rows_in_order_from_a_generator(tmp_path):
    """Rows from a generator are written in order under the header, numbers as numbers, None blank."""
    path = tmp_path / "big.xlsx"
    n = table_workbook(str(path), "大表", ["学号", "分数", "备注"], ((f"S{i:05d}", i, None) for i in range(3000)))
    assert n == 3000
    ws = openpyxl.load_workbook(path, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("学号", "分数", "备注")
    assert rows[1] == ("S00000", 0, None)
    assert rows[-1] == ("S02999", 2999, None)
    assert len(rows) == 3001


def test_table_workbook_prints_a4_one_page_wide_with_repeated_header(tmp_path):
    """Lists print on A4, fitted to one page wide, the header row repeated on every page."""
    path = tmp_path / "p.xlsx"
    table_workbook(str(path), "名单", ["学号", "姓名"], [["1", "张三"]])
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws.title == "名单"
    assert int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    # fitToWidth="1" is the OOXML default, so xlsxwriter leaves the attribute out
    assert int(ws.page_setup.fitToWidth or 1) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows.replace("$", "") == "1:1"
    assert ws.print_area


# Every kind of value a list export meets, and the text that needs care: formula look-alikes, markup,
# xlsxwriter's own _xHHHH_ escapes, control characters, edge whitespace (also the ideographic space),
# line breaks, long text, numbers of every size, dates, booleans.
AWKWARD = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x", "a&b<c>d\"e'", "x_x00A0_y", "_x0041_", "ctl\x01\x1f\x7f",
           "\r\n=x", "line\nbreak", "end\n", " lead", "trail ", "\u3000全角", "中文 文本", "", None, 0, -0.0, 3.25,
           10 ** 17, 1e-20, 2 ** 63, True, False, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5),
           "字" * (MAX_CELL_CHARS + 5)]


MARKUP = ["<r><t>=1+1</t></r>", "<r>&</r>", "<r></r>", "\x01<r>x</r>", "a</r>"]


def _sheet_xml(path, rows, fast: bool, fmt: bool = True) -> bytes:
    """The sheet XML of ``rows`` under a header, written by the fast path or by the public ``write_rows``."""
    import zipfile

    from app.exports.xlsx import StreamingWorksheet, new_workbook, write_rows

    wb = new_workbook(str(path), constant_memory=True)
    ws = wb.add_worksheet("s", worksheet_class=StreamingWorksheet if fast else None)
    cell = wb.add_format({"border": 1}) if fmt else None
    ws.set_row(0, 22)
    ws.write_string(0, 0, "学号", cell)
    if fast:
        assert ws.append_rows(1, rows, cell) == len(rows)
    else:
        assert write_rows(ws, 1, rows, cell) == len(rows)
    ws.autofilter(0, 0, len(rows), len(AWKWARD) - 1)
    wb.close()
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("fmt", [True, False])
def test_fast_path_writes_what_the_public_api_writes_byte_for_byte(tmp_path, fmt):
    """The fast row writer (private file handle, one xlsxwriter release) produces the very same sheet XML
    as xlsxwriter's public write_row / write_string / write_rich_string — markup-shaped rows included."""
    rows = [AWKWARD, list(reversed(AWKWARD)), ["only"], AWKWARD[:5], MARKUP, ["plain", *MARKUP[1:2], 7], AWKWARD]
    public = _sheet_xml(tmp_path / "public.xlsx", rows, fast=False, fmt=fmt)
    fast = _sheet_xml(tmp_path / "fast.xlsx", rows, fast=True, fmt=fmt)
    assert fast == public


def test_fast_path_only_with_the_pinned_xlsxwriter(tmp_path, monkeypatch):
    """The fast path is tied to the exact release requirements.in pins; any other release gets the public
    path, and the file reads back the same either way."""
    from pathlib import Path

    import xlsxwriter

    from app.exports import xlsx

    root = Path(__file__).resolve().parents[2]
    assert f"xlsxwriter=={xlsx.FAST_ROWS_XLSXWRITER}" in root.joinpath("requirements.in").read_text().lower()
    assert f"xlsxwriter=={xlsx.FAST_ROWS_XLSXWRITER}" in root.joinpath("requirements.lock").read_text().lower()
    rows = [[t, i] for i, t in enumerate(INJECTIONS + MARKUP)]
    used = []
    real_append, real_public = xlsx.StreamingWorksheet.append_rows, xlsx.write_rows
    monkeypatch.setattr(xlsx.StreamingWorksheet, "append_rows",
                        lambda self, *a, **k: used.append("fast") or real_append(self, *a, **k))
    monkeypatch.setattr(xlsx, "write_rows", lambda *a, **k: used.append("public") or real_public(*a, **k))
    table_workbook(str(tmp_path / "pinned.xlsx"), "名单", ["文本", "数"], rows)
    monkeypatch.setattr(xlsxwriter, "__version__", "99.0.0")
    table_workbook(str(tmp_path / "other.xlsx"), "名单", ["文本", "数"], rows)
    assert used == ["fast", "public"]
    read = [list(openpyxl.load_workbook(tmp_path / n).active.iter_rows(values_only=True))
            for n in ("pinned.xlsx", "other.xlsx")]
    assert read[0] == read[1] == [("文本", "数"), *[(safe_text(t) or None, i) for t, i in rows]]


@pytest.mark.parametrize("constant_memory", [True, False])
def test_markup_shaped_text_stays_literal_on_every_path(tmp_path, constant_memory):
    """xlsxwriter copies a string shaped like <r>…</r> into the file as raw rich-text XML (shared strings
    and inline alike): "<r>&</r>" made an unreadable workbook, "<r><t>=1+1</t></r>" showed "=1+1". Typed
    text like that reads back exactly as typed, through table_workbook and through write_value."""
    from app.exports.xlsx import new_workbook, write_value

    path = tmp_path / "m.xlsx"
    table_workbook(str(path), "名单", ["文本"], [[t] for t in MARKUP], constant_memory=constant_memory)
    assert [r[0] for r in openpyxl.load_workbook(path).active.iter_rows(min_row=2, values_only=True)] == \
        [safe_text(t) for t in MARKUP]
    path = tmp_path / "cells.xlsx"
    wb = new_workbook(str(path), constant_memory=constant_memory)
    ws = wb.add_worksheet("s")
    for r, text in enumerate(MARKUP):
        write_value(ws, r, 0, text)
    wb.close()
    ws = openpyxl.load_workbook(path).active
    assert [ws.cell(r + 1, 1).value for r in range(len(MARKUP))] == [safe_text(t) for t in MARKUP]
    assert all(ws.cell(r + 1, 1).data_type == "s" for r in range(len(MARKUP)))


def test_safe_text_cuts_at_the_limit_in_utf16_units():
    """Excel's 32,767 limit counts UTF-16 units: a text of characters beyond U+FFFF is cut at half as many
    characters, so xlsxwriter never truncates (and write_row never stops at) a cell of ours."""
    text = safe_text("😀" * MAX_CELL_CHARS)
    assert len(text.encode("utf-16-le")) // 2 <= MAX_CELL_CHARS and text == "😀" * (MAX_CELL_CHARS // 2)


def test_append_rows_reads_back_literal_text(tmp_path):
    """Read back: formula look-alikes and markup-shaped text are string cells holding exactly the text."""
    texts = INJECTIONS + ["<r><t>=1+1</t></r>", "<r>&</r>", "  两端空格  "]
    path = tmp_path / "t.xlsx"
    table_workbook(str(path), "名单", ["文本", "数"], ([t, i] for i, t in enumerate(texts)))
    ws = openpyxl.load_workbook(path).active
    for i, text in enumerate(texts, start=2):
        assert ws.cell(i, 1).data_type == "s" and ws.cell(i, 1).value == text, text
        assert ws.cell(i, 2).value == i - 2 and ws.cell(i, 2).data_type == "n"


def test_append_rows_keeps_the_worksheet_rules(tmp_path):
    """Only in constant_memory mode, only below what is written; later rows still go below it."""
    from app.exports.xlsx import StreamingWorksheet, new_workbook

    wb = new_workbook(str(tmp_path / "m.xlsx"))
    ws = wb.add_worksheet("s", worksheet_class=StreamingWorksheet)
    with pytest.raises(ValueError):
        ws.append_rows(1, [["x"]])
    wb.close()
    path = tmp_path / "c.xlsx"
    wb = new_workbook(str(path), constant_memory=True)
    ws = wb.add_worksheet("s", worksheet_class=StreamingWorksheet)
    ws.write_string(0, 0, "head")
    assert ws.append_rows(1, [["a", 1], ["b", 2]]) == 2
    with pytest.raises(ValueError):
        ws.append_rows(2, [["again"]])
    assert ws.write_string(1, 0, "over") != 0  # refused by xlsxwriter: that row is on disk already
    ws.write_string(3, 0, "tail")
    assert ws.append_rows(5, [["c", 3]]) == 1
    wb.close()
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows == [("head", None), ("a", 1), ("b", 2), ("tail", None), (None, None), ("c", 3)]
