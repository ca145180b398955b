"""organisation.contact_name/contact_phone and major.levels: what the 机构 import brings (issue 17)

Revision ID: a9d4e2c7b1f0
Revises: f3a9c1d2e4b6
Create Date: 2026-12-03 10:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = "a9d4e2c7b1f0"
down_revision = "f3a9c1d2e4b6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_name", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=20), nullable=True))
    with op.batch_alter_table("major", schema=None) as batch_op:
        batch_op.add_column(sa.Column("levels", sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table("major", schema=None) as batch_op:
        batch_op.drop_column("levels")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_name")
