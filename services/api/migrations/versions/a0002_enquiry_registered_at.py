"""api_enquiry.registered_at: enquiries are recorded in the register after they are answered

Revision ID: a0002
Revises: a0001
Create Date: 2026-11-28 09:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a0002"
down_revision = "a0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_enquiry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_enquiry_registered_at"), ["registered_at"], unique=False)
    # Enquiries answered before this revision were recorded in the register as they were answered.
    op.execute("update api_enquiry set registered_at = answered_at")


def downgrade() -> None:
    with op.batch_alter_table("api_enquiry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_enquiry_registered_at"))
        batch_op.drop_column("registered_at")
