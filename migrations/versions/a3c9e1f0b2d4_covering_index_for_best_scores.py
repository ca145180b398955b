"""covering index for best scores; drop an operation-log index another one covers

The audits read each student's best score per course: (student_id, course_code, score) lets
PostgreSQL and SQLite answer that from the index alone, in order. ix_grade_student_id is a prefix
of it (and of uq_grade_attempt). ix_operation_log_site_id is a prefix of ix_oplog_site_at and only
slowed down the 100,000 log rows a first audit writes.

Revision ID: a3c9e1f0b2d4
Revises: de2b4df2ff2d
Create Date: 2026-12-01 06:20:00

"""
from alembic import op


revision = "a3c9e1f0b2d4"
down_revision = "de2b4df2ff2d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("grade", schema=None) as batch_op:
        batch_op.drop_index("ix_grade_student_id")
        batch_op.create_index("ix_grade_best", ["student_id", "course_code", "score"], unique=False)
    with op.batch_alter_table("operation_log", schema=None) as batch_op:
        batch_op.drop_index("ix_operation_log_site_id")


def downgrade():
    with op.batch_alter_table("operation_log", schema=None) as batch_op:
        batch_op.create_index("ix_operation_log_site_id", ["site_id"], unique=False)
    with op.batch_alter_table("grade", schema=None) as batch_op:
        batch_op.drop_index("ix_grade_best")
        batch_op.create_index("ix_grade_student_id", ["student_id"], unique=False)
