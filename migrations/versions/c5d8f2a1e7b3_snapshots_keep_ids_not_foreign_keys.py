"""graduation snapshots keep ids, not foreign keys (history, like the operation log)

Checking three foreign keys per snapshot row was two thirds of the cost of writing a year's
snapshots on PostgreSQL (each check locks the referenced row).

Revision ID: c5d8f2a1e7b3
Revises: a3c9e1f0b2d4
Create Date: 2026-12-01 06:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = "c5d8f2a1e7b3"
down_revision = "a3c9e1f0b2d4"
branch_labels = None
depends_on = None

FKS = (("graduation_snapshot_task_id_fkey", ["task_id"], "task", None),
       ("graduation_snapshot_student_id_fkey", ["student_id"], "student", "CASCADE"),
       ("graduation_snapshot_batch_id_fkey", ["batch_id"], "graduation_batch", None))


def _snapshot_table(with_fks: bool) -> sa.Table:
    """The table as SQLite must rebuild it (it cannot drop a constraint in place)."""
    fks = [sa.ForeignKeyConstraint(cols, [f"{target}.id"], ondelete=ondelete)
           for _name, cols, target, ondelete in FKS] if with_fks else []
    return sa.Table(
        "graduation_snapshot", sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True),
        sa.Column("passed_courses", sa.Integer(), nullable=True),
        sa.Column("earned_credits", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        *fks,
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "student_id", name="uq_graduation_snapshot"),
        sa.Index("ix_graduation_snapshot_student", "student_id", "created_at"),
    )


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("graduation_snapshot", recreate="always", copy_from=_snapshot_table(False)):
            pass
        return
    for name, _cols, _target, _ondelete in FKS:
        op.drop_constraint(name, "graduation_snapshot", type_="foreignkey")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("graduation_snapshot", recreate="always", copy_from=_snapshot_table(True)):
            pass
        return
    for name, cols, target, ondelete in FKS:
        op.create_foreign_key(name, "graduation_snapshot", target, cols, ["id"], ondelete=ondelete)
