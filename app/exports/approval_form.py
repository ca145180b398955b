"""学士学位申请审批表: one printable A4 sheet per applicant, with the 初审 signer's electronic signature.

Pure: plain values and file paths in (built by ``app.services.approval_forms``), a workbook out. Same
layout and print setup as the archive documents (``archive.PrintedSheet``): labels left of their values,
rows as tall as their wrapped text, one A4 page.
"""
from __future__ import annotations

from app.exports.archive import GRID_WIDTHS, PrintedSheet, column_px, photo_options

TITLE = "学士学位申请审批表"
STUDENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("学号", "student_no"), ("姓名", "name"),
    ("性别", "gender"), ("出生日期", "birth_date"),
    ("民族", "ethnicity"), ("政治面貌", "political_status"),
    ("身份证号", "id_card"), ("层次", "level"),
    ("专业", "major"), ("学习形式", "study_mode"),
    ("教学点", "site"), ("二级学院", "college"),
    ("入学日期", "enrolled_on"), ("毕业日期", "graduation_date"),
    ("毕业证书编号", "diploma_no"), ("学位批次", "batch"),
)
SIGNATURE_BOX_CM = (4.0, 1.5)
SIGNATURE_ROW_PT = 52


def write_approval_form(path, data: dict, photo_path: str | None, signature_path: str | None) -> None:
    """学士学位申请审批表 of one application.

    Args:
        path: Output path or binary file object.
        data: ``school``, ``printed_on``, one display value per key of ``STUDENT_FIELDS``, and
            ``language`` (学位外语成绩), ``average`` (学位课程平均分), ``courses`` (学位课程成绩 text),
            ``condition`` (学位申请条件 result, with reasons when not met), ``opinion`` / ``comment``
            (初审意见, 初审说明), ``reviewer`` (初审人), ``reviewed_on``, ``signature_note`` (which version),
            ``final_on`` (终审日期), ``degree_no`` and ``granted_on`` (empty until published).
        photo_path: Absolute path of the graduation photo, or None.
        signature_path: Absolute path of the signature version the 初审 was signed with, or None.
    """
    doc = PrintedSheet(path, TITLE, data.get("school"))
    doc.columns(GRID_WIDTHS)
    doc.heading(data.get("printed_on"))
    doc.grid(STUDENT_FIELDS, data, photo_path, photo=True)
    row = doc.row
    doc.height(row, 24)
    doc.pair(row, 0, "学位外语成绩", data.get("language"))
    doc.pair(row, 2, "学位课程平均分", data.get("average"), span_to=4)
    doc.row += 1
    doc.text_block("学位课程成绩", data.get("courses"), min_lines=2)
    doc.height(doc.row, 24)
    doc.pair(doc.row, 0, "学位申请条件", data.get("condition"), span_to=4)
    doc.row += 1
    _first_review(doc, data, signature_path)
    row = doc.row
    doc.height(row, 24)
    doc.pair(row, 0, "终审日期", data.get("final_on"))
    doc.pair(row, 2, "学位授予日期", data.get("granted_on"), span_to=4)
    doc.row += 1
    doc.height(doc.row, 24)
    doc.pair(doc.row, 0, "学位证书编号", data.get("degree_no"), span_to=4)
    doc.row += 2
    doc.ws.merge_range(doc.row, 0, doc.row, 4, f"{doc.school}（盖章）", doc.f_plain)
    doc.row += 1
    doc.finish(repeat=(0, 1))


def _first_review(doc: PrintedSheet, data: dict, signature_path: str | None) -> None:
    """初审意见 and 初审说明, then 初审人 with the signature image and the date it was signed."""
    doc.height(doc.row, 24)
    doc.pair(doc.row, 0, "初审意见", data.get("opinion"), span_to=4)
    doc.row += 1
    doc.text_block("初审说明", data.get("comment"), min_lines=2)
    row = doc.row
    doc.height(row, SIGNATURE_ROW_PT)
    doc.pair(row, 0, "初审人", data.get("reviewer"))
    doc.ws.write_string(row, 2, "电子签名", doc.f_label)
    doc.ws.merge_range(row, 3, row, 4, "" if signature_path else "（无电子签名）", doc.f_photo)
    if signature_path:
        options = photo_options(signature_path, cell_w_px=column_px(GRID_WIDTHS[3]) + column_px(GRID_WIDTHS[4]),
                                cell_h_px=SIGNATURE_ROW_PT * 96 / 72, box_cm=SIGNATURE_BOX_CM)
        if options is not None:
            doc.ws.insert_image(row, 3, signature_path, options)
    doc.row += 1
    row = doc.row
    doc.height(row, 24)
    doc.pair(row, 0, "初审日期", data.get("reviewed_on"))
    doc.pair(row, 2, "签名版本", data.get("signature_note"), span_to=4)
    doc.row += 1
