"""student grade indexes: the filter bars' year ranges are index probes

Revision ID: d7e4b9c2a6f1
Revises: c5d8f2a1e7b3
Create Date: 2026-12-01 06:45:00

"""
from alembic import op


revision = "d7e4b9c2a6f1"
down_revision = "c5d8f2a1e7b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_student_enrol_grade"), ["enrol_grade"], unique=False)
        batch_op.create_index(batch_op.f("ix_student_study_grade"), ["study_grade"], unique=False)


def downgrade():
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_student_study_grade"))
        batch_op.drop_index(batch_op.f("ix_student_enrol_grade"))
