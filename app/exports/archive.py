"""毕业生档案: 学籍卡, 成绩单 and 毕业生登记表 as printable A4 workbooks.

Each writer takes plain values (``data`` dicts built by ``app.services.exports``) and a path or
binary file object. Layout: A4 portrait, centred, one page wide; the school name and the document
title on top; a bordered grid of label/value cells (labels left of their values, so a reader or a
test finds a value right of its label); the photo, when given, in a 2.5 × 3.5 cm box.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from app.exports.xlsx import display_width, new_workbook, safe_text, write_value

# (label, key) of the identity and enrolment fields, in print order.
CARD_FIELDS: tuple[tuple[str, str], ...] = (
    ("学号", "student_no"), ("姓名", "name"),
    ("性别", "gender"), ("身份证号", "id_card"),
    ("出生日期", "birth_date"), ("民族", "ethnicity"),
    ("政治面貌", "political_status"), ("手机号", "mobile"),
    ("学籍年级", "enrol_grade"), ("学习年级", "study_grade"),
    ("层次", "level"), ("专业", "major"),
    ("学习形式", "study_mode"), ("学制", "duration"),
    ("教学点", "site"), ("二级学院", "college"),
    ("入学日期", "enrolled_on"), ("学籍状态", "status"),
)
GRADUATION_FIELDS: tuple[tuple[str, str], ...] = (("毕业证书编号", "diploma_no"), ("毕业日期", "graduation_date"))
TRANSCRIPT_INFO: tuple[tuple[str, str], ...] = (
    ("学号", "student_no"), ("姓名", "name"),
    ("层次", "level"), ("专业", "major"),
    ("教学点", "site"), ("学习形式", "study_mode"),
    ("学籍年级", "enrol_grade"), ("入学日期", "enrolled_on"),
)
TRANSCRIPT_HEADERS = ("课程代码", "课程名称", "学分", "成绩", "考试性质")
FORM_FIELDS: tuple[tuple[str, str], ...] = (
    ("学号", "student_no"), ("姓名", "name"),
    ("性别", "gender"), ("出生日期", "birth_date"),
    ("民族", "ethnicity"), ("政治面貌", "political_status"),
    ("身份证号", "id_card"), ("手机号", "mobile"),
    ("层次", "level"), ("专业", "major"),
    ("学习形式", "study_mode"), ("学制", "duration"),
    ("教学点", "site"), ("二级学院", "college"),
    ("入学日期", "enrolled_on"), ("毕业日期", "graduation_date"),
)

DEFAULT_SCHOOL = "南通大学继续教育学院"
PHOTO_BOX_CM = (2.5, 3.5)
PX_PER_CM = 96 / 2.54
# Columns A–E: label, value, label, value, photo. Widths in Excel character units.
GRID_WIDTHS = (12, 24, 12, 24, 16)
GRID_ROW_PT = 28
PHOTO_ROWS = 5  # grid rows the photo column spans
LINE_PT = 15  # one printed line of 11-pt text
MAX_ROW_PT = 400  # Excel's row height limit is 409 pt
TEXT_LINES_PER_ROW = (MAX_ROW_PT - 10) // LINE_PT


class PrintedSheet:
    """One A4 sheet with the shared formats; the archive writers and the 审批表 fill it."""

    def __init__(self, target, title: str, school: str | None) -> None:
        self.wb = new_workbook(target)
        self.wb.set_properties({"title": title, "company": safe_text(school or DEFAULT_SCHOOL)})
        self.ws = self.wb.add_worksheet(title)
        self.title = title
        self.school = safe_text(school or DEFAULT_SCHOOL)
        base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
        f = self.wb.add_format
        self.f_school = f({**base, "font_size": 14, "bold": True, "align": "center"})
        self.f_title = f({**base, "font_size": 20, "bold": True, "align": "center"})
        self.f_note = f({**base, "font_size": 9, "align": "right"})
        self.f_label = f({**base, "bold": True, "border": 1, "align": "center", "bg_color": "#F2F2F2",
                          "text_wrap": True})
        self.f_value = f({**base, "border": 1, "align": "left", "text_wrap": True})
        self.f_center = f({**base, "border": 1, "align": "center", "text_wrap": True})
        self.f_head = f({**base, "bold": True, "border": 1, "align": "center", "bg_color": "#D9E1F2"})
        self.f_term = f({**base, "bold": True, "border": 1, "align": "left", "bg_color": "#F2F2F2"})
        self.f_text = f({**base, "border": 1, "align": "left", "valign": "top", "text_wrap": True})
        self.f_sign = f({**base, "border": 1, "align": "right"})
        self.f_photo = f({**base, "border": 1, "align": "center", "font_color": "#808080"})
        self.f_plain = f({**base, "align": "right"})
        self.row = 0
        self.last_col = 4
        self.widths: tuple[float, ...] = GRID_WIDTHS
        self.heights: dict[int, float] = {}

    def height(self, row: int, points: float) -> None:
        """At least ``points`` tall (wrapped text may ask for more; the tallest wish wins at ``finish``)."""
        self.heights[row] = min(MAX_ROW_PT, max(self.heights.get(row, 0), points))

    def fit(self, row: int, col: int, text: Any, *, span_to: int | None = None, bold: bool = False) -> None:
        """Make ``row`` tall enough for ``text`` wrapped in columns ``col``..``span_to``.

        xlsxwriter does not autofit rows: a wrapped cell in a one-line row prints clipped.
        """
        last = col if span_to is None else span_to
        width = sum(self.widths[col:last + 1])
        self.height(row, lines_pt(text_lines(safe_text(text), width, bold=bold)))

    def columns(self, widths: Sequence[float]) -> None:
        self.widths = tuple(widths)
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)
        self.last_col = len(widths) - 1

    def heading(self, printed_on: Any = None) -> None:
        """School name and document title, centred across the sheet."""
        ws = self.ws
        self.height(0, 24)
        ws.merge_range(0, 0, 0, self.last_col, self.school, self.f_school)
        self.height(1, 34)
        ws.merge_range(1, 0, 1, self.last_col, self.title, self.f_title)
        ws.merge_range(2, 0, 2, self.last_col, f"打印日期：{safe_text(printed_on)}" if printed_on else "", self.f_note)
        self.row = 3

    def pair(self, row: int, col: int, label: str, value: Any, *, span_to: int | None = None) -> None:
        """A label cell and its value cell right of it (the value may span to ``span_to``)."""
        self.ws.write_string(row, col, label, self.f_label)
        self.fit(row, col, label, bold=True)
        if span_to is not None and span_to > col + 1:
            self.ws.merge_range(row, col + 1, row, span_to, "", self.f_value)
        write_value(self.ws, row, col + 1, value, self.f_value)
        self.fit(row, col + 1, value, span_to=span_to)

    def grid(self, fields: Sequence[tuple[str, str]], values: dict, photo_path: str | None, *,
             photo: bool) -> None:
        """Label/value pairs two per row; with ``photo`` the first rows leave column E to the photo."""
        start = self.row
        pairs = [fields[i:i + 2] for i in range(0, len(fields), 2)]
        for i, chunk in enumerate(pairs):
            row = start + i
            self.height(row, GRID_ROW_PT)
            beside_photo = photo and i < PHOTO_ROWS
            (l1, k1) = chunk[0]
            self.pair(row, 0, l1, values.get(k1))
            if len(chunk) > 1:
                (l2, k2) = chunk[1]
                self.pair(row, 2, l2, values.get(k2), span_to=None if beside_photo else self.last_col)
            else:
                self.ws.merge_range(row, 2, row, 3 if beside_photo else self.last_col, "", self.f_value)
        rows = len(pairs)
        if photo:
            for i in range(rows, PHOTO_ROWS):  # keep the photo box whole when there are few fields
                self.height(start + i, GRID_ROW_PT)
                self.ws.merge_range(start + i, 0, start + i, 3, "", self.f_value)
            rows = max(rows, PHOTO_ROWS)
            self.ws.merge_range(start, 4, start + PHOTO_ROWS - 1, 4, "" if photo_path else "照片", self.f_photo)
            if photo_path:
                options = photo_options(photo_path, cell_w_px=column_px(GRID_WIDTHS[4]),
                                        cell_h_px=PHOTO_ROWS * GRID_ROW_PT * 96 / 72)
                if options is not None:
                    self.ws.insert_image(start, 4, photo_path, options)
        self.row = start + rows

    def text_block(self, label: str, text: Any, *, min_lines: int, sign: bool = False) -> None:
        """A titled block of free text (自我鉴定, 意见), split over rows when longer than a row can hold."""
        chunks = wrap_chunks(safe_text(text), text_width_units())
        lines_total = sum(n for _t, n in chunks)
        if lines_total < min_lines:  # leave room to write by hand
            last_text, last_n = chunks[-1]
            chunks[-1] = (last_text, last_n + min_lines - lines_total)
        first = self.row
        for text_chunk, n in chunks:
            self.height(self.row, lines_pt(n))
            self.ws.merge_range(self.row, 1, self.row, self.last_col, "", self.f_text)
            write_value(self.ws, self.row, 1, text_chunk, self.f_text)
            self.row += 1
        if sign:
            self.height(self.row, 24)
            self.ws.merge_range(self.row, 1, self.row, self.last_col,
                                "签章：　　　　　　　　　　　日期：　　　　年　　月　　日", self.f_sign)
            self.row += 1
        if self.row - 1 > first:
            self.ws.merge_range(first, 0, self.row - 1, 0, label, self.f_label)
        else:
            self.ws.write_string(first, 0, label, self.f_label)

    def finish(self, *, repeat: tuple[int, int] | None = None) -> None:
        """A4 portrait, centred, one page (shrunk to fit when long), print area = the used range; then save."""
        ws = self.ws
        for row, points in sorted(self.heights.items()):
            ws.set_row(row, points)
        ws.set_paper(9)
        ws.set_portrait()
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
        ws.center_horizontally()
        ws.fit_to_pages(1, 1)  # a registrar files one sheet per document
        ws.print_area(0, 0, max(self.row - 1, 0), self.last_col)
        if repeat is not None:
            ws.repeat_rows(*repeat)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.hide_gridlines(2)
        self.wb.close()


def column_px(width: float) -> int:
    """Pixel width of an Excel column of ``width`` character units (default font)."""
    return int(width * 7 + 5) if width >= 1 else int(width * 12 + 0.5)


def text_lines(text: str, width: float, *, bold: bool = False) -> int:
    """Printed lines of ``text`` wrapped in a cell ``width`` character units wide.

    A CJK character is about two latin widths (``display_width``); a unit is kept back for the cell's
    padding, and bold text runs about a tenth wider.
    """
    usable = max(1.0, (width - 1) / (1.1 if bold else 1.0))
    return sum(max(1, math.ceil(display_width(para) / usable)) for para in (text.split("\n") if text else [""]))


def lines_pt(lines: int) -> float:
    """Row height in points for ``lines`` printed lines of 11-pt text, with room above and below."""
    return min(MAX_ROW_PT, lines * LINE_PT + 8)


def text_width_units() -> int:
    """Character units available to a text block (columns B–E, minus padding)."""
    return int(sum(GRID_WIDTHS[1:])) - 3


def wrap_chunks(text: str, width: int) -> list[tuple[str, int]]:
    """Split ``text`` into row-sized pieces with their estimated printed line counts.

    Excel neither grows merged rows nor lets one row exceed 409 pt, so long text is cut between
    paragraphs (or, for a very long paragraph, between characters) into rows of at most
    ``TEXT_LINES_PER_ROW`` lines. Joining the pieces with "\\n" where a cut fell between paragraphs
    gives the text back; nothing is dropped.
    """
    width = max(width, 10)
    pieces: list[tuple[str, int]] = []
    current: list[str] = []
    current_lines = 0

    def flush() -> None:
        nonlocal current, current_lines
        if current:
            pieces.append(("\n".join(current), current_lines))
        current, current_lines = [], 0

    for para in text.split("\n") if text else [""]:
        lines = max(1, math.ceil(display_width(para) / width))
        if lines > TEXT_LINES_PER_ROW:
            flush()
            budget = width * TEXT_LINES_PER_ROW
            part, used = [], 0
            for ch in para:
                w = display_width(ch)
                if used + w > budget:
                    pieces.append(("".join(part), TEXT_LINES_PER_ROW))
                    part, used = [], 0
                part.append(ch)
                used += w
            if part:
                current, current_lines = ["".join(part)], max(1, math.ceil(used / width))
            continue
        if current_lines + lines > TEXT_LINES_PER_ROW:
            flush()
        current.append(para)
        current_lines += lines
    flush()
    return pieces or [("", 1)]


def photo_options(photo_path: str, *, cell_w_px: float, cell_h_px: float,
                  box_cm: tuple[float, float] = PHOTO_BOX_CM) -> dict | None:
    """insert_image options scaling the photo (or a signature) into a ``box_cm`` box (2.5 × 3.5 cm),
    centred in its cell range.

    Returns None for a file that is not a readable image (the box then stays empty).
    """
    try:
        from PIL import Image

        with Image.open(photo_path) as img:
            width, height = img.size
            dpi = img.info.get("dpi") or (96, 96)
    except Exception:  # missing or unreadable file: no photo rather than no export
        return None
    try:
        dpi_x, dpi_y = (float(dpi[0]) or 96.0, float(dpi[1]) or 96.0)
    except (TypeError, ValueError, IndexError):
        dpi_x = dpi_y = 96.0
    if not width or not height:
        return None
    natural_w, natural_h = width * 96 / dpi_x, height * 96 / dpi_y  # what xlsxwriter draws at scale 1
    box_w, box_h = box_cm[0] * PX_PER_CM, box_cm[1] * PX_PER_CM
    scale = min(box_w / natural_w, box_h / natural_h)
    drawn_w, drawn_h = natural_w * scale, natural_h * scale
    return {
        "x_scale": scale,
        "y_scale": scale,
        "x_offset": max(0, int((cell_w_px - drawn_w) / 2)),
        "y_offset": max(0, int((cell_h_px - drawn_h) / 2)),
        "object_position": 1,
    }


def write_student_card(path, data: dict, photo_path: str | None) -> None:
    """学籍卡: identity and enrolment fields, plus 毕业证书编号 and 毕业日期 once graduated.

    Args:
        path: Output path or binary file object.
        data: ``school`` (name printed on top), ``printed_on``, ``graduated`` and one value per key of
            ``CARD_FIELDS`` / ``GRADUATION_FIELDS``, already as display values.
        photo_path: Absolute path of the graduation photo, or None.
    """
    doc = PrintedSheet(path, "学籍卡", data.get("school"))
    doc.columns(GRID_WIDTHS)
    doc.heading(data.get("printed_on"))
    fields = CARD_FIELDS + (GRADUATION_FIELDS if data.get("graduated") else ())
    doc.grid(fields, data, photo_path, photo=True)
    doc.finish(repeat=(0, 1))


def _transcript_row(doc: PrintedSheet, a: dict) -> None:
    """One line of the 成绩单: 课程代码, 课程名称, 学分, 成绩 (as recorded: 良, 85; 免修), 考试性质."""
    ws = doc.ws
    doc.height(doc.row, 20)
    write_value(ws, doc.row, 0, a.get("code"), doc.f_center)
    write_value(ws, doc.row, 1, a.get("name"), doc.f_value)
    for col, key in ((0, "code"), (1, "name"), (4, "exam_kind")):
        doc.fit(doc.row, col, a.get(key))
    write_value(ws, doc.row, 2, a.get("credits"), doc.f_center)
    ws.write_string(doc.row, 3, safe_text(a.get("score")), doc.f_center)
    write_value(ws, doc.row, 4, a.get("exam_kind"), doc.f_center)
    doc.row += 1


def write_transcript(path, data: dict) -> None:
    """成绩单: every attempt grouped by 学期, then 已通过课程数 / 已获总学分 and the 毕业证书编号.

    Args:
        path: Output path or binary file object.
        data: ``school``, ``printed_on``, the ``TRANSCRIPT_INFO`` keys, ``terms`` as
            ``[(term, [{"code", "name", "credits" (float or None), "score", "exam_kind"}])]``,
            ``exceptions`` (approved 课程替代 / 免修 / 学分认定, rows of the same keys: the plan course named
            with its exception, the credits it earns, its score or 免修 / 认定, and the kind),
            ``passed_courses``, ``earned_credits`` and ``diploma_no`` (may be empty).
    """
    doc = PrintedSheet(path, "成绩单", data.get("school"))
    doc.columns((14, 30, 9, 12, 12))
    doc.heading(data.get("printed_on"))
    ws = doc.ws
    for i in range(0, len(TRANSCRIPT_INFO), 2):
        doc.height(doc.row, 22)
        (l1, k1), (l2, k2) = TRANSCRIPT_INFO[i], TRANSCRIPT_INFO[i + 1]
        doc.pair(doc.row, 0, l1, data.get(k1))
        doc.pair(doc.row, 2, l2, data.get(k2), span_to=4)
        doc.row += 1
    doc.row += 1
    header_row = doc.row
    doc.height(header_row, 22)
    for col, heading in enumerate(TRANSCRIPT_HEADERS):
        ws.write_string(header_row, col, heading, doc.f_head)
    doc.row += 1
    terms = data.get("terms") or []
    if not terms:
        ws.merge_range(doc.row, 0, doc.row, 4, "暂无成绩记录", doc.f_center)
        doc.row += 1
    for term, attempts in terms:
        doc.height(doc.row, 20)
        ws.merge_range(doc.row, 0, doc.row, 4, f"学期：{safe_text(term)}", doc.f_term)
        doc.row += 1
        for a in attempts:
            _transcript_row(doc, a)
    exceptions = data.get("exceptions") or []
    if exceptions:  # approved 课程替代 / 免修 / 学分认定: the plan course, named with its exception
        doc.height(doc.row, 20)
        ws.merge_range(doc.row, 0, doc.row, 4, "课程替代 / 免修 / 学分认定", doc.f_term)
        doc.row += 1
        for a in exceptions:
            _transcript_row(doc, a)
    doc.height(doc.row, 24)
    doc.pair(doc.row, 0, "已通过课程数", data.get("passed_courses", 0))
    doc.pair(doc.row, 2, "已获总学分", data.get("earned_credits", 0), span_to=4)
    doc.row += 1
    if data.get("diploma_no"):
        doc.height(doc.row, 24)
        doc.pair(doc.row, 0, "毕业证书编号", data.get("diploma_no"), span_to=4)
        doc.row += 1
    doc.row += 1
    ws.merge_range(doc.row, 0, doc.row, 4, f"{doc.school}（盖章）", doc.f_plain)
    doc.row += 1
    doc.finish(repeat=(header_row, header_row))


def write_graduate_form(path, data: dict, photo_path: str | None) -> None:
    """毕业生登记表: identity, 自我鉴定, 教学点意见, 学院意见 and the photo.

    Args:
        path: Output path or binary file object.
        data: ``school``, ``printed_on``, the ``FORM_FIELDS`` keys, ``self_assessment``,
            ``site_opinion`` and ``college_opinion`` (free text, printed literally).
        photo_path: Absolute path of the graduation photo, or None.
    """
    doc = PrintedSheet(path, "毕业生登记表", data.get("school"))
    doc.columns(GRID_WIDTHS)
    doc.heading(data.get("printed_on"))
    doc.grid(FORM_FIELDS, data, photo_path, photo=True)
    doc.text_block("自我鉴定", data.get("self_assessment"), min_lines=14)
    doc.text_block("教学点意见", data.get("site_opinion"), min_lines=4, sign=True)
    doc.text_block("学院意见", data.get("college_opinion"), min_lines=4, sign=True)
    doc.finish(repeat=(0, 1))
