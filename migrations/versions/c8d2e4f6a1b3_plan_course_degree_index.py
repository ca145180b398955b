"""plan_course degree index: a plan's 学位课程 are an index probe (the 学位课程平均分 sort of the degree lists)

Revision ID: c8d2e4f6a1b3
Revises: b3e5c7d9f1a2
Create Date: 2026-12-03 16:30:00

"""
from alembic import op


revision = "c8d2e4f6a1b3"
down_revision = "b3e5c7d9f1a2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("plan_course", schema=None) as batch_op:
        batch_op.create_index("ix_plan_course_degree", ["plan_id", "is_degree_course", "course_code"], unique=False)


def downgrade():
    with op.batch_alter_table("plan_course", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_course_degree")
