"""Covering indexes and a risk-flag bit mask for the dashboard (index-only scans on PostgreSQL).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 08:46:36
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# model.RISK_BITS as it stood at this revision (a migration never imports the live model).
RISK_BITS = {
    "looked_after": 1,
    "known_to_social_care": 2,
    "send_ehcp": 4,
    "gypsy_roma_traveller": 8,
    "young_carer": 16,
    "armed_forces_family": 32,
    "new_arrival": 64,
    "leaving_custody": 128,
    "exploitation_risk": 256,
}


def upgrade() -> None:
    with op.batch_alter_table("cme_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_mask", sa.Integer(), server_default="0", nullable=False))
    for flag, bit in RISK_BITS.items():
        op.execute(
            sa.text(
                "update cme_case set risk_mask = risk_mask + :bit "
                "where id in (select case_id from case_risk_flag where flag = :flag)"
            ).bindparams(bit=bit, flag=flag)
        )
    with op.batch_alter_table("cme_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cme_case_cme_ended_on"))
        batch_op.create_index("ix_cme_case_closed_on", ["closed_on", "closure_reason"], unique=False)
        batch_op.create_index(
            "ix_cme_case_cme_window",
            ["cme_ended_on", "referred_on", "dfe_reason", "whereabouts_known", "new_to_area", "new_to_country",
             "risk_mask"],
            unique=False,
        )
        batch_op.create_index("ix_cme_case_provision_on", ["provision_on", "referred_on"], unique=False)

    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_state_due_on"))
        batch_op.create_index("ix_task_state_due_on_kind", ["state", "due_on", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_state_due_on_kind")
        batch_op.create_index(batch_op.f("ix_task_state_due_on"), ["state", "due_on"], unique=False)

    with op.batch_alter_table("cme_case", schema=None) as batch_op:
        batch_op.drop_index("ix_cme_case_provision_on")
        batch_op.drop_index("ix_cme_case_cme_window")
        batch_op.drop_index("ix_cme_case_closed_on")
        batch_op.create_index(batch_op.f("ix_cme_case_cme_ended_on"), ["cme_ended_on"], unique=False)
        batch_op.drop_column("risk_mask")
