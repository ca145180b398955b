"""One builder for 操作日志 rows: the single-entry path and the bulk path of jobs write the same columns."""
from __future__ import annotations

import pytest

from app.services import oplog
from app.statuses import OplogAction, label


def test_every_action_has_its_chinese_label():
    """The log's 操作 column reads in Chinese for every action the code can write."""
    assert oplog.ACTION_LABELS == {a.value: label(a) for a in OplogAction}
    assert oplog.ACTION_LABELS["graduation_override"] == "修改毕业审核结果"


def test_an_unknown_action_is_refused():
    """A typo in an action code fails loudly instead of writing an entry nobody can filter or read."""
    with pytest.raises(ValueError):
        oplog.entry_row(actor=None, action="graduation_overide")


def test_a_row_takes_scope_columns_from_the_student(world):
    """Scope columns come from the student; the system is the actor when there is none."""
    row = oplog.entry_row(actor=None, action=OplogAction.GRADUATION_AUDIT, record=world.student1,
                          old="未审核", new="预毕业")
    assert row["actor_name"] == "系统" and row["action"] == "graduation_audit"
    assert (row["student_id"], row["site_id"], row["college_id"]) == (
        world.student1.id, world.student1.site_id, world.student1.college_id)
    assert (row["record_type"], row["old_value"], row["new_value"]) == ("Student", "未审核", "预毕业")
