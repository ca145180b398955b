"""One limit for every reason of a hand change (核实说明, 初审说明): 500 characters and real text, pages and API."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DegreeApplication, GraduationAudit
from app.services.errors import DomainError
from app.services.reasons import MAX_CHARS, clean_reason
from tests import factories
from tests.clients import bulk_post, press


@pytest.mark.parametrize("text", ["", "   ", "\x01", "\u200b", "\x00\t\x7f"])
def test_no_real_text_is_no_reason(text):
    with pytest.raises(DomainError, match="请填写核实说明"):
        clean_reason(text, "核实说明")
    assert clean_reason(text, "初审说明", required=False) == ""


def test_the_limit_is_one_constant():
    assert MAX_CHARS == 500
    assert clean_reason(" 经核实 ", "核实说明") == "经核实"
    assert len(clean_reason("核" * MAX_CHARS, "核实说明")) == MAX_CHARS
    with pytest.raises(DomainError, match="核实说明不能超过 500 字"):
        clean_reason("核" * (MAX_CHARS + 1), "核实说明")


def test_graduation_override_refuses_a_reason_without_text(world, site_client):
    """A lone zero-width space is no 核实说明; a lone control character is already refused by the input guard."""
    factories.graduation_batch()
    db.session.commit()
    r = bulk_post(site_client, "override", ids=world.student1.id,
                  form={"override_result": "failed", "reason": "\u200b"}, follow_redirects=True)
    assert "请填写核实说明" in r.get_data(as_text=True)
    r = bulk_post(site_client, "override", ids=world.student1.id, form={"override_result": "failed", "reason": "\x01"})
    assert r.status_code == 400 and "控制字符" in r.get_data(as_text=True)
    assert db.session.scalar(select(GraduationAudit)) is None


def test_degree_override_is_limited_to_500_characters(world, site_client):
    """修改授予结论 had no limit on the page; now the same 500 as 修改毕业审核结果 and the API."""
    batch = factories.degree_batch()
    app = DegreeApplication(batch_id=batch.id, student_id=world.student1.id)
    db.session.add(app)
    db.session.commit()
    r = press(site_client, "/degree/audit/override", data={"ids": [app.id], "override_result": "met",
                                                         "override_reason": "核" * 501}, follow_redirects=True)
    assert "修改授予结论的核实说明不能超过 500 字" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DegreeApplication, app.id).override_result is None
