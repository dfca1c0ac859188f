"""match decisions and the review queue

Revision ID: m0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "m0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_decision",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("responsible_la", sa.String(3), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("child_id", sa.String(36), nullable=True),
        sa.Column("candidate_id", sa.String(36), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("comparisons", sa.JSON(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("config_version", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_match_decision")),
    )
    op.create_table(
        "review_item",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("responsible_la", sa.String(3), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("candidate_id", sa.String(36), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("linked_child_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_review_item")),
    )
    op.create_index("ix_review_item_state_la", "review_item", ["state", "responsible_la"])


def downgrade() -> None:
    op.drop_index("ix_review_item_state_la", table_name="review_item")
    op.drop_table("review_item")
    op.drop_table("match_decision")
