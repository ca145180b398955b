"""account_session: a browser login ends at 退出 (the signed cookie alone no longer keeps anyone in)

Revision ID: e8f1a2b3c4d5
Revises: d7e4b9c2a6f1
Create Date: 2026-12-01 10:40:00

"""
import sqlalchemy as sa
from alembic import op


revision = "e8f1a2b3c4d5"
down_revision = "d7e4b9c2a6f1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("account_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_session_account_id"), ["account_id"], unique=False)


def downgrade():
    with op.batch_alter_table("account_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_session_account_id"))
    op.drop_table("account_session")
