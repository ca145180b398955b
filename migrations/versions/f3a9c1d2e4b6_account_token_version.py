"""ab_user.token_version: API tokens end with the password (a change, 停用 or 重置 bumps it; every JWT carries it)

Revision ID: f3a9c1d2e4b6
Revises: e8f1a2b3c4d5
Create Date: 2026-12-03 09:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = "f3a9c1d2e4b6"
down_revision = "e8f1a2b3c4d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("token_version")
