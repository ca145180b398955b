"""task.summary as plain JSON so PostgreSQL keeps the key order of the summary

Revision ID: b7c1d2e3f4a5
Revises: 45e308560707
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b7c1d2e3f4a5"
down_revision = "45e308560707"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("task", "summary", type_=sa.JSON(), postgresql_using="summary::json")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("task", "summary", type_=postgresql.JSONB(astext_type=sa.Text()),
                        postgresql_using="summary::jsonb")
