"""course_exception: 课程替代 / 免修 / 学分认定 per student and plan course (one active per course)

Revision ID: b3e5c7d9f1a2
Revises: a9d4e2c7b1f0
Create Date: 2026-12-03 13:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = "b3e5c7d9f1a2"
down_revision = "a9d4e2c7b1f0"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('pending', 'approved')")


def upgrade():
    op.create_table(
        "course_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("course_code", sa.String(length=20), nullable=False),
        sa.Column("course_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("substitute_code", sa.String(length=20), nullable=True),
        sa.Column("substitute_name", sa.String(length=100), nullable=True),
        sa.Column("source_institution", sa.String(length=100), nullable=True),
        sa.Column("source_course", sa.String(length=100), nullable=True),
        sa.Column("credits", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["student_id"], ["student.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entered_by_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_course_exception_student", "course_exception", ["student_id", "status"])
    op.create_index("uq_course_exception_active", "course_exception", ["student_id", "course_code"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)


def downgrade():
    op.drop_index("uq_course_exception_active", table_name="course_exception")
    op.drop_index("ix_course_exception_student", table_name="course_exception")
    op.drop_table("course_exception")
