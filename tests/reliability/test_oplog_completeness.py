"""操作日志 (SPEC §5, issue 7): every state change of the two workflows writes exactly one entry, and nobody
can edit or delete an entry through the app.

Completeness: the manual's scenarios (section 2 毕业审核, section 3 学位审核) run through the logged-in pages
as the right roles. Around every step the workflow state of every student is snapshotted in field groups
(graduation: 登记表, 照片, synced figures, result, override, 确认, 发布; degree: 申请, result, override, 初审,
终审, 发布; per account: 电子签名). The groups that changed are turned into the entries they call for, and the
rows the step appended to ``operation_log`` must match them one to one: same record, action, actor, scope
columns, old → new, reason and task. No change → no entry; one change → exactly one entry. Rows written
before the step must stay byte-identical.

Immutability: every rule of every view over ``OperationLog`` (pages and API) is hit with POST/PUT/DELETE/PATCH
and a valid CSRF token by the CE admin (who may do everything); FAB's add/edit/delete/action routes must be
absent; the table is fingerprinted before and after. At the model level, the ORM refuses updates and deletes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Account,
    DegreeApplication,
    GraduateForm,
    GraduationAudit,
    GraduationBatch,
    OperationLog,
    Signature,
    Student,
    Task,
)
from app.models.oplog import OperationLogImmutable
from app.statuses import FormState, Level, RoleName
from tests import factories
from tests.clients import press
from tests.reliability.conftest import jpeg_bytes, png_bytes

# The Chinese labels the log stores, written out here rather than taken from the app (an independent oracle).
GRAD = {None: "未审核", "unaudited": "未审核", "pre_graduate": "预毕业", "failed": "不合格"}
COND = {None: "未审核", "unaudited": "未审核", "met": "已达标", "not_met": "未达标"}
OPINION = {"agree": "同意", "disagree": "不同意"}
WRITE = ("POST", "PUT", "DELETE", "PATCH")


# --------------------------------------------------------------------------- expected entries


@dataclass(frozen=True)
class Entry:
    """One operation-log entry a change calls for."""

    action: str
    record_type: str
    record_id: int | None
    student_id: int | None
    old: Any
    new: Any
    reason: Any = None
    in_task: bool = False  # written by the step's background task (task_id = that task)
    new_prefix: bool = False  # ``new`` is compared as a prefix (the rest is a detail such as image size)

    @property
    def key(self) -> tuple:
        return (self.record_type, self.record_id, self.action)


def _row(obj, *names) -> dict:
    return {n: getattr(obj, n) for n in names} if obj is not None else {n: None for n in names}


def graduation_state() -> dict:
    """Per student: the field groups of the 毕业审核 workflow, plus the ids of the rows holding them."""
    db.session.expire_all()
    forms = {f.student_id: f for f in db.session.scalars(select(GraduateForm))}
    audits = {a.student_id: a for a in db.session.scalars(select(GraduationAudit))}
    out = {}
    for s in db.session.scalars(select(Student)):
        f, a = forms.get(s.id), audits.get(s.id)
        out[("student", s.id)] = {
            "groups": {
                "form": f.state if f else None,
                "photo": s.photo_path,
                "sync": (s.passed_courses, s.earned_credits),
                "result": a.result if a else None,
                "override": (a.override_result, a.override_reason, a.override_by_id) if a else (None, None, None),
                "confirm": a.confirmed_at if a else None,
                "publish": (a.published_at, a.diploma_no, s.status) if a else (None, None, s.status),
            },
            "ids": {"GraduateForm": f.id if f else None, "GraduationAudit": a.id if a else None},
            "student": _row(s, "id", "site_id", "college_id"),
            "audit": _row(a, "result", "confirmed_at", "override_reason", "diploma_no"),
        }
    return out


def graduation_entries(key, before: dict | None, after: dict, changed: set[str], ctx: dict) -> list[Entry]:
    """The entries one student's changed graduation groups call for."""
    sid = key[1]
    b, a = (before or {}).get("audit") or _row(None, "result", "confirmed_at"), after["audit"]
    audit_id = after["ids"]["GraduationAudit"]
    out = []
    if "form" in changed:
        out.append(Entry("form_submit", "GraduateForm", after["ids"]["GraduateForm"], sid, "未提交", "已提交"))
    if "photo" in changed:
        out.append(Entry("photo_upload", "Student", sid, sid, before["groups"]["photo"], after["groups"]["photo"]))
    # "sync" changes the synced figures: one task-level entry per 同步课程数据 (see the step), none per student
    if "override" in changed:  # a hand-set result: one entry, whatever else it moved (result, 确认)
        old = GRAD[b["result"]]
        if b["confirmed_at"] is not None and a["confirmed_at"] is None:
            old += "（已确认）"
        out.append(Entry("graduation_override", "GraduationAudit", audit_id, sid, old, GRAD[a["result"]],
                         reason=a["override_reason"]))
    else:
        if "result" in changed:
            out.append(Entry("graduation_audit", "GraduationAudit", audit_id, sid, GRAD[b["result"]],
                             GRAD[a["result"]], in_task=True))
        if "confirm" in changed:
            out.append(Entry("graduation_confirm", "GraduationAudit", audit_id, sid,
                             "已确认" if b["confirmed_at"] else "未确认", "已确认" if a["confirmed_at"] else "未确认"))
    if "publish" in changed:
        out.append(Entry("graduation_publish", "GraduationAudit", audit_id, sid, "已确认",
                         f"已毕业 {a['diploma_no']}", in_task=True))
    return out


def degree_state() -> dict:
    """Per student: the field groups of the 学位审核 workflow; per account: the 电子签名 version."""
    db.session.expire_all()
    versions = dict(db.session.execute(select(Signature.id, Signature.version)).all())
    apps = {a.student_id: a for a in db.session.scalars(select(DegreeApplication))}
    out = {}
    for s in db.session.scalars(select(Student)):
        a = apps.get(s.id)
        out[("student", s.id)] = {
            "groups": {
                "apply": a is not None,
                "result": a.result if a else None,
                "override": (a.override_result, a.override_reason, a.override_by_id) if a else None,
                "review": (a.review_opinion, a.review_comment, a.review_signature_id, a.reviewed_by_id) if a else None,
                "final": a.final_at if a else None,
                "publish": (a.published_at, a.degree_no) if a else None,
            },
            "ids": {"DegreeApplication": a.id if a else None},
            "student": _row(s, "id", "site_id", "college_id"),
            "app": _row(a, "result", "override_reason", "review_opinion", "review_comment", "degree_no",
                        "applied_by_id"),
            "sig_version": versions.get(a.review_signature_id) if a else None,
        }
    for account_id, sig_id, version in db.session.execute(
            select(Signature.account_id, Signature.id, Signature.version).order_by(Signature.version)):
        out[("account", account_id)] = {"groups": {"signature": version}, "ids": {"Signature": sig_id}}
    return out


def degree_entries(key, before: dict | None, after: dict, changed: set[str], ctx: dict) -> list[Entry]:
    """The entries one student's (or account's) changed degree groups call for."""
    if key[0] == "account":
        old_version = (before or {}).get("groups", {}).get("signature")
        return [Entry("signature_upload", "Signature", after["ids"]["Signature"], None,
                      f"第{old_version}版" if old_version else "无", f"第{after['groups']['signature']}版 ",
                      new_prefix=True)]
    sid = key[1]
    b, a = before["app"], after["app"]
    app_id = after["ids"]["DegreeApplication"]
    if "apply" in changed:  # a new application: one entry covers its initial values
        who = "本人申请" if ctx["actor_student_id"] == sid else "代为申请"
        return [Entry("degree_apply", "DegreeApplication", app_id, sid, "未申请", "已申请", reason=who)]
    out = []
    if "override" in changed:
        out.append(Entry("degree_override", "DegreeApplication", app_id, sid, COND[b["result"]], COND[a["result"]],
                         reason=a["override_reason"]))
    elif "result" in changed:
        out.append(Entry("degree_audit", "DegreeApplication", app_id, sid, COND[b["result"]], COND[a["result"]],
                         in_task=True))
    if "review" in changed:
        old = OPINION[b["review_opinion"]] if b["review_opinion"] else "未初审"
        out.append(Entry("degree_review", "DegreeApplication", app_id, sid, old,
                         f"{OPINION[a['review_opinion']]}（签名第{after['sig_version']}版）",
                         reason=a["review_comment"] or None))
    if "final" in changed:
        out.append(Entry("degree_final", "DegreeApplication", app_id, sid, "未终审", "已终审"))
    if "publish" in changed:
        out.append(Entry("degree_publish", "DegreeApplication", app_id, sid, "未发布", f"已发布 {a['degree_no']}",
                         in_task=True))
    return out


# --------------------------------------------------------------------------- the step recorder


def log_rows(after_id: int = 0) -> list[OperationLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(OperationLog).where(OperationLog.id > after_id).order_by(OperationLog.id)))


def log_digest(up_to_id: int | None = None) -> str:
    """sha256 over every column of every log row (up to an id): any edit or delete changes it."""
    db.session.expire_all()
    table = OperationLog.__table__
    stmt = table.select().order_by(table.c.id)
    if up_to_id is not None:
        stmt = stmt.where(table.c.id <= up_to_id)
    rows = db.session.execute(stmt).all()
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest() + f"/{len(rows)}"


def max_id(model) -> int:
    return db.session.scalar(select(func.max(model.id))) or 0


class Recorder:
    """Runs the scenario's steps and collects every mismatch between state changes and log entries."""

    def __init__(self, state: Callable[[], dict], entries: Callable[..., list[Entry]]):
        self.state, self.entries = state, entries
        self.problems: list[str] = []
        self.ids = dict(db.session.execute(select(Account.username, Account.id)).all())
        self.student_of = dict(db.session.execute(select(Account.id, Account.student_id)).all())

    def step(self, name: str, client, do: Callable[[], Any], *, entries: int,
             extra: Callable[[int | None], list[Entry]] | None = None):
        """Run ``do`` as ``client``'s user; ``entries`` is how many log rows the manual's step should write."""
        before, last_log, last_task = self.state(), max_id(OperationLog), max_id(Task)
        digest = log_digest(last_log)
        result = do()
        after = self.state()
        rows = log_rows(last_log)
        new_tasks = [t for t, in db.session.execute(select(Task.id).where(Task.id > last_task))]
        task_id = new_tasks[0] if len(new_tasks) == 1 else None
        actor_id = self.ids[client.username]
        ctx = {"actor_student_id": self.student_of.get(actor_id)}

        expected: list[Entry] = list(extra(task_id) if extra else [])
        scope_of: dict[int, dict] = {}
        for key in sorted(set(before) | set(after)):
            if key not in after:
                self.problems.append(f"[{name}] {key} disappeared")
                continue
            old_groups = before.get(key, {}).get("groups", {})
            changed = {g for g, v in after[key]["groups"].items() if old_groups.get(g) != v}
            if changed:
                expected.extend(self.entries(key, before.get(key), after[key], changed, ctx))
            if "student" in after[key]:
                scope_of[key[1]] = after[key]["student"]

        if log_digest(last_log) != digest:
            self.problems.append(f"[{name}] entries written before this step were changed or deleted")
        if any(e.in_task for e in expected) and task_id is None:
            self.problems.append(f"[{name}] expected one background task, found {new_tasks}")
        if len(expected) != entries:
            self.problems.append(f"[{name}] the step changed {len(expected)} things, the manual's step should "
                                 f"change {entries}: {[e.key for e in expected]}")

        want = Counter(e.key for e in expected)
        got = Counter((r.record_type, r.record_id, r.action) for r in rows)
        for key in sorted(want - got, key=repr):
            self.problems.append(f"[{name}] state change without its log entry: {key} "
                                 f"(wanted {want[key]}, found {got[key]})")
        by_key = {(r.record_type, r.record_id, r.action): r for r in rows}
        for key in sorted(got - want, key=repr):
            values = [(r.old_value, r.new_value) for r in rows if (r.record_type, r.record_id, r.action) == key]
            self.problems.append(f"[{name}] log entry without a state change (or duplicated): {key} "
                                 f"(found {got[key]}, wanted {want[key]}): {values}")
        for e in expected:
            r = by_key.get(e.key)
            if r is None:
                continue
            scope = scope_of.get(e.student_id, {"site_id": None, "college_id": None})
            checks = {
                "actor_id": (r.actor_id, actor_id),
                "actor_name": (r.actor_name, client.username),
                "student_id": (r.student_id, e.student_id),
                "site_id": (r.site_id, scope["site_id"]),
                "college_id": (r.college_id, scope["college_id"]),
                "old_value": (r.old_value, e.old),
                "new_value": ((r.new_value or "")[:len(e.new)] if e.new_prefix else r.new_value, e.new),
                "reason": (r.reason, e.reason),
                "task_id": (r.task_id, task_id if e.in_task else None),
            }
            for field_name, (actual, wanted) in checks.items():
                if actual != wanted:
                    self.problems.append(f"[{name}] {e.key}: {field_name} is {actual!r}, expected {wanted!r}")
        self.last_rows = rows
        return result

    def verify(self) -> None:
        assert not self.problems, "operation log does not match the state changes:\n" + "\n".join(self.problems)


def _text(resp) -> str:
    return resp.get_data(as_text=True)


# --------------------------------------------------------------------------- 1. the manual's scenarios


GRAD_FILTER = {"enrol_grade": "2020", "study_grade": "2020", "level": "gqb"}


def test_graduation_scenario_logs_every_change_once(world, login):
    """Manual section 2 through the pages: each step's log rows are exactly its state changes."""
    batch = factories.graduation_batch()  # confirmation window open now
    factories.grades(world.student1, factories.ALL_PASS)
    weak = factories.student(world.site1, world.major1, no="2020010002", name="王五", form=FormState.DRAFT,
                             photo=False)
    factories.grades(weak, {"C01": 80, "C02": 75, "C03": 52, "E01": 90, "E02": 85})  # 必修 C03 52: 不合格
    qian = factories.student(world.site1, world.major1, no="2020010004", name="钱八")
    factories.grades(qian, factories.ALL_PASS)
    factories.student(world.site1, world.major1, no="2020010003", name="专升本生", level=Level.JUNIOR_TO_BACHELOR)
    factories.account("2020010002", RoleName.STUDENT, student=weak)
    db.session.commit()
    zhang_id, weak_id, qian_id = world.student1.id, weak.id, qian.id
    jxd, jjy, wang = login("jxd001"), login("jjy001"), login("2020010002", "student")
    rec = Recorder(graduation_state, graduation_entries)

    # 学生空间: 王五 submits the 毕业生登记表 and uploads the graduation photo (conditions b and c)
    rec.step("提交毕业生登记表", wang, lambda: wang.post(
        "/space/form", data={"self_assessment": "本人在校期间学习认真。", "submit": "1"}), entries=1)
    rec.step("上传毕业照片", wang, lambda: wang.post(
        "/space/photo", data={"photo": (io.BytesIO(jpeg_bytes()), "毕业照.jpg")},
        content_type="multipart/form-data"), entries=1)

    # 3. 同步课程数据: the figures of the three 高起本 students change; one entry for the whole task
    def sync_entry(task_id):
        return [Entry("graduation_sync", "Task", task_id, None, None, "3 名学生", in_task=True)]

    rec.step("同步课程数据", jxd, lambda: press(jxd, "/graduation/audit/sync", data=GRAD_FILTER), entries=1,
             extra=sync_entry)
    assert db.session.get(Student, weak_id).earned_credits > 0

    # 4. 毕业审核: 未审核 → 预毕业 (张三, 钱八) / 不合格 (王五); a rerun on unchanged data changes nothing
    rec.step("毕业审核", jxd, lambda: press(jxd, "/graduation/audit/audit", data=GRAD_FILTER), entries=3)
    rec.step("毕业审核（数据未变，再次执行）", jxd, lambda: press(jxd, "/graduation/audit/audit", data=GRAD_FILTER),
             entries=0)
    assert db.session.scalar(select(GraduationAudit.result).where(GraduationAudit.student_id == weak_id)) == "failed"

    # 6. 修改毕业审核结果 with 核实说明
    rec.step("修改毕业审核结果", jxd, lambda: press(jxd, "/graduation/audit/override", data={
        "ids": str(weak_id), "override_result": "pre_graduate", "reason": "C03 补考成绩已线下核实", **GRAD_FILTER}),
        entries=1)

    # 7. 一键确认毕业: outside the window nothing changes; inside, every 预毕业 student; twice = once
    batch = db.session.get(GraduationBatch, batch.id)
    window = (batch.confirm_start, batch.confirm_end)
    batch.confirm_start, batch.confirm_end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    db.session.commit()
    confirm_pre = {**GRAD_FILTER, "result": "pre_graduate"}
    r = rec.step("一键确认毕业（确认时间外）", jxd,
                 lambda: press(jxd, "/graduation/audit/confirm", data=confirm_pre, follow_redirects=True), entries=0)
    assert "不在确认毕业时间内" in _text(r)
    batch = db.session.get(GraduationBatch, batch.id)
    batch.confirm_start, batch.confirm_end = window
    db.session.commit()
    r = rec.step("一键确认毕业", jxd,
                 lambda: press(jxd, "/graduation/audit/confirm", data=confirm_pre, follow_redirects=True), entries=3)
    assert "已确认毕业 3 名学生" in _text(r)
    rec.step("一键确认毕业（重复提交）", jxd,
             lambda: press(jxd, "/graduation/audit/confirm", data=confirm_pre), entries=0)

    # the CE admin corrects a confirmed result (it leaves the confirmed list); a site may not
    rec.step("修改毕业审核结果（继教院：已确认 → 不合格）", jjy, lambda: press(jjy, "/graduation/audit/override", data={
        "ids": str(qian_id), "override_result": "failed", "reason": "学籍异动，暂缓毕业"}), entries=1)
    r = rec.step("修改毕业审核结果（教学点改已确认结果，被拒绝）", jxd, lambda: press(
        jxd, "/graduation/audit/override", data={"ids": str(zhang_id), "override_result": "failed", "reason": "误操作"},
        follow_redirects=True), entries=0)
    assert "已确认毕业的结果已锁定" in _text(r)

    # 8. 发布 (CE admin): 张三 and 王五 get their 毕业证书编号; a second 发布 numbers nobody again
    rec.step("发布", jjy, lambda: press(jjy, "/graduation/audit/publish", data=GRAD_FILTER), entries=2)
    rec.step("发布（重复）", jjy, lambda: press(jjy, "/graduation/audit/publish", data=GRAD_FILTER), entries=0)
    r = rec.step("修改已发布学生（被拒绝）", jjy, lambda: press(jjy, "/graduation/audit/override", data={
        "ids": str(zhang_id), "override_result": "failed", "reason": "撤销"}, follow_redirects=True), entries=0)
    assert "已发布毕业的学生不能修改毕业审核结果" in _text(r)
    rec.verify()
    numbers = db.session.scalars(select(GraduationAudit.diploma_no).where(GraduationAudit.diploma_no.is_not(None)))
    assert sorted(numbers) == ["103045202505000001", "103045202505000002"]


def _degree_world(world):
    """Manual section 3's students: 张三 applies herself, the site registers 王五, 赵六 and 孙七."""
    factories.degree_batch(name="2020级学士学位（2025）", course_average_mark=70, year=2025)
    factories.graduation_result(world.student1)
    factories.language(world.student1, 75)
    factories.grades(world.student1, factories.ALL_PASS)
    others = {}
    for name, scores, lang in (("王五", {"C01": 85, "C02": 80}, 72), ("赵六", {"C01": 85, "C02": 80}, 52),
                               ("孙七", {"C01": 62, "C02": 66}, 70)):
        s = factories.student(world.site1, world.major1, name=name)
        factories.graduation_result(s)
        factories.language(s, lang)
        factories.grades(s, scores)
        others[name] = s.id
    factories.graduation_result(world.student2)
    db.session.commit()
    return others


def _app_ids(*student_ids) -> list[int]:
    db.session.expire_all()
    return [db.session.scalar(select(DegreeApplication.id).where(DegreeApplication.student_id == sid))
            for sid in student_ids]


def test_degree_scenario_logs_every_change_once(world, login):
    """Manual section 3 through the pages: each step's log rows are exactly its state changes."""
    others = _degree_world(world)
    zhang = world.student1.id
    student, site, college, ce = login("2020010001", "student"), login("jxd001"), login("xy001"), login("jjy001")
    rec = Recorder(degree_state, degree_entries)

    rec.step("学位申请（学生本人）", student, lambda: student.post("/space/degree/apply"), entries=1)
    rec.step("代为申请", site, lambda: press(site, "/degree/audit/register", data={
        "applied": "not_applied", "ids": list(others.values())}), entries=3)
    rec.step("学位条件审核", site, lambda: press(site, "/degree/audit/audit", data={"applied": "applied"}), entries=4)
    rec.step("学位条件审核（数据未变，再次执行）", site,
             lambda: press(site, "/degree/audit/audit", data={"applied": "applied"}), entries=0)
    assert _app_ids(others["孙七"]) and db.session.scalar(select(DegreeApplication.result).where(
        DegreeApplication.student_id == others["孙七"])) == "not_met"

    sun = _app_ids(others["孙七"])
    rec.step("修改授予结论", site, lambda: press(site, "/degree/audit/override", data={
        "applied": "applied", "ids": sun, "override_result": "met", "override_reason": "补考成绩已线下核实"}),
        entries=1)
    rec.step("上传电子签名", site, lambda: site.post(
        "/signature/upload", data={"signature": (io.BytesIO(png_bytes()), "我的签名.png")},
        content_type="multipart/form-data"), entries=1)
    chosen = _app_ids(zhang, others["王五"], others["孙七"])
    review = {"applied": "applied", "ids": chosen, "review_opinion": "agree", "review_comment": "同意申请"}
    rec.step("初审", site, lambda: press(site, "/degree/audit/review", data=review), entries=3)
    rec.step("初审（重复提交）", site, lambda: press(site, "/degree/audit/review", data=review), entries=0)
    r = rec.step("初审（未达标学生，被拒绝）", site, lambda: press(site, "/degree/audit/review", data={
        **review, "ids": _app_ids(others["赵六"])}, follow_redirects=True), entries=0)
    assert "只能对学位申请条件已达标的学生初审" in _text(r)

    r = rec.step("批量终审", college, lambda: press(college, "/degree/audit/final", data={
        "applied": "applied", "result": "met"}, follow_redirects=True), entries=3)
    assert "批量终审完成：3 名学生" in _text(r)
    r = rec.step("修改授予结论（教学点改已终审，被拒绝）", site, lambda: press(site, "/degree/audit/override", data={
        "ids": sun, "override_result": "not_met", "override_reason": "误操作"}), entries=0)
    assert r.status_code == 404  # after 终审 the application has left 学位申请审核管理's list: not tickable there

    rec.step("发布", ce, lambda: press(ce, "/degree/audit/publish", data={}), entries=3)
    r = rec.step("发布（重复）", ce, lambda: press(ce, "/degree/audit/publish", data={}, follow_redirects=True),
                 entries=0)
    assert "没有待发布的学位申请" in _text(r)
    rec.verify()
    numbers = db.session.scalars(select(DegreeApplication.degree_no).where(DegreeApplication.degree_no.is_not(None)))
    assert len(set(numbers)) == 3


def test_resubmitted_override_writes_no_second_entry(world, login):
    """修改毕业审核结果 / 修改授予结论 posted twice with the same values (a double click): the second post
    changes no state, so it must write no entry (as 初审 and 一键确认毕业 already behave)."""
    others = _degree_world(world)  # 张三 预毕业 in a 毕业批次; 赵六 未申请
    jxd = login("jxd001")
    student_id = world.student1.id

    grad = Recorder(graduation_state, graduation_entries)
    form = {"ids": str(student_id), "override_result": "failed", "reason": "毕业生登记表信息有误"}
    grad.step("修改毕业审核结果", jxd, lambda: press(jxd, "/graduation/audit/override", data=form), entries=1)
    grad.step("修改毕业审核结果（同值重复提交）", jxd, lambda: press(jxd, "/graduation/audit/override", data=form),
              entries=0)

    deg = Recorder(degree_state, degree_entries)
    deg.step("代为申请", jxd, lambda: press(jxd, "/degree/audit/register", data={
        "applied": "not_applied", "ids": [others["赵六"]]}), entries=1)
    ids = _app_ids(others["赵六"])
    data = {"applied": "applied", "ids": ids, "override_result": "met", "override_reason": "替代考试成绩已核实"}
    deg.step("修改授予结论", jxd, lambda: press(jxd, "/degree/audit/override", data=data), entries=1)
    deg.step("修改授予结论（同值重复提交）", jxd, lambda: press(jxd, "/degree/audit/override", data=data), entries=0)
    grad.problems.extend(deg.problems)
    grad.verify()


# --------------------------------------------------------------------------- 2. nobody can edit the log


def _seed_log(world) -> list[int]:
    """A few entries of different actors and records, committed."""
    from app.services import oplog

    jxd = db.session.scalar(select(Account).where(Account.username == "jxd001"))
    rows = [
        oplog.record(actor=jxd, action="graduation_override", record_type="GraduationAudit", record_id=1,
                     student=world.student1, old="不合格", new="预毕业", reason="核实"),
        oplog.record(actor=None, action="graduation_audit", record_type="GraduationAudit", record_id=2,
                     student=world.student2, old="未审核", new="预毕业", task_id=7),
        oplog.record(actor=jxd, action="signature_upload", record_type="Signature", record_id=3, new="第1版"),
    ]
    db.session.commit()
    return [r.id for r in rows]


def _log_views(app) -> dict[str, Any]:
    """Every registered view (page or API) whose model is OperationLog, by endpoint name."""
    return {v.endpoint: v for v in app.appbuilder.baseviews
            if getattr(getattr(v, "datamodel", None), "obj", None) is OperationLog}


TAMPER = {"actor_name": "篡改", "action": "account_create", "old_value": "篡改", "new_value": "篡改",
          "reason": "篡改", "student_id": "1", "task_id": "1", "at": "2000-01-01 00:00:00"}


def test_no_route_can_change_the_log(app, world, ce_client):
    """As the CE admin, with a valid token: every write method on every log rule, and FAB's usual
    add/edit/delete/action URLs, leave the log byte-identical."""
    from tests.reliability.test_route_matrix import api_token

    ids = _seed_log(world)
    views = _log_views(app)
    assert "OperationLogView" in views  # the page exists; its routes are what we attack
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in views]
    assert rules
    # FAB's write routes (ModelView and ModelRestApi names) are not registered for the log at all
    write_names = {"add", "edit", "delete", "action", "action_post", "download", "api_create", "api_update",
                   "api_delete", "post", "put", "patch"}
    registered = {r.endpoint for r in rules}
    assert not {e for e in registered if e.split(".", 1)[1] in write_names}, registered
    assert not [r for r in rules if set(r.methods) & set(WRITE)], [(r.rule, r.methods) for r in rules]
    sm = app.appbuilder.sm
    for name in views:
        for perm in ("can_add", "can_edit", "can_delete", "can_post", "can_put"):
            assert sm.find_permission_view_menu(perm, name) is None, (perm, name)

    before = log_digest()
    pk = str(ids[0])
    urls = set()
    for rule in rules:
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", pk).replace(f"<int:{arg}>", pk)
        urls.add(url)
    for view in views.values():
        base = view.route_base
        urls |= {f"{base}/add", f"{base}/edit/{pk}", f"{base}/delete/{pk}", f"{base}/action/muldelete/{pk}",
                 f"{base}/action_post", f"{base}/api/create", f"{base}/api/update/{pk}",
                 f"{base}/api/delete/{pk}", f"{base}/{pk}", f"{base}/", f"{base}/show/{pk}"}
    headers = api_token(app, "jjy001")
    answers = {}
    for url in sorted(urls):
        for method in WRITE:
            with app.app_context():
                if url.startswith("/api/"):
                    resp = app.test_client().open(url, method=method, json=TAMPER, headers=headers)
                else:
                    resp = ce_client.client.open(url, method=method,
                                                 data={**TAMPER, "csrf_token": ce_client.token, "rowid": pk})
            db.session.expire_all()
            answers[(method, url)] = resp.status_code
    assert log_digest() == before
    # absent (404) or refused (405); nothing answered as if it had done something
    accepted = {k: v for k, v in answers.items() if v not in (404, 405)}
    assert not accepted, accepted
    assert len(answers) >= 4 * 10
    # the list and the entry are still readable, unchanged
    assert ce_client.get(f"/oplog/show/{pk}").status_code == 200
    assert "篡改" not in _text(ce_client.get("/oplog/list/"))


def test_orm_refuses_to_update_or_delete_an_entry(world):
    """The model promises append-only: a unit-of-work update or delete of an entry raises and changes nothing."""
    ids = _seed_log(world)
    before = log_digest()
    row = db.session.get(OperationLog, ids[0])
    row.new_value = "篡改"
    try:
        db.session.flush()
    except OperationLogImmutable:
        db.session.rollback()
    else:  # pragma: no cover - the assertion below reports it
        db.session.rollback()
        raise AssertionError("an ORM update of an OperationLog row was flushed")
    row = db.session.get(OperationLog, ids[1])
    db.session.delete(row)
    try:
        db.session.flush()
    except OperationLogImmutable:
        db.session.rollback()
    else:  # pragma: no cover
        db.session.rollback()
        raise AssertionError("an ORM delete of an OperationLog row was flushed")
    assert log_digest() == before
    # the service offers appending only
    from app.services import oplog

    assert not [n for n in vars(oplog) if n.startswith(("update", "delete", "edit", "remove", "purge"))]


def test_orm_bulk_statements_cannot_change_the_log(world):
    """ORM bulk UPDATE/DELETE statements (which skip the per-object hooks) are refused too."""
    import pytest
    from sqlalchemy import delete, update

    _seed_log(world)
    before = log_digest()
    for stmt in (update(OperationLog).values(new_value="篡改"), delete(OperationLog),
                 update(OperationLog).where(OperationLog.id > 0).values(reason="x")):
        with pytest.raises(OperationLogImmutable):
            db.session.execute(stmt)
        db.session.rollback()
    with pytest.raises(OperationLogImmutable):
        db.session.query(OperationLog).delete()
    db.session.rollback()
    assert log_digest() == before
