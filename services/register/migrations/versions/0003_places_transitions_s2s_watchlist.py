"""Places, transitions, S2S search results and watch-list reviews (services.places, services.transitions).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:38:11.287581
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "place_provider",
        sa.Column("provider_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider_type", sa.String(length=40), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("places_available", sa.Integer(), nullable=False),
        sa.Column("age_from", sa.Integer(), nullable=True),
        sa.Column("age_to", sa.Integer(), nullable=True),
        sa.Column("send_suitable", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_place_provider")),
    )
    op.create_table(
        "place_vacancy",
        sa.Column("laestab", sa.String(length=7), nullable=False),
        sa.Column("year_group", sa.String(length=3), nullable=False),
        sa.Column("urn", sa.String(length=10), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phase", sa.String(length=30), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("on_roll", sa.Integer(), nullable=False),
        sa.Column("vacancies", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("laestab", "year_group", name=op.f("pk_place_vacancy")),
    )
    op.create_table(
        "s2s_result",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("destination_kind", sa.String(length=30), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=True),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("comparisons", sa.JSON(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_s2s_result_child_id_child"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_s2s_result")),
    )
    with op.batch_alter_table("s2s_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_s2s_result_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_s2s_result_child_id"), ["child_id"], unique=False)

    op.create_table(
        "transition_expectation",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("la_code", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("school_laestab", sa.String(length=7), nullable=False),
        sa.Column("year_group", sa.String(length=3), nullable=True),
        sa.Column("application_reference", sa.String(length=60), nullable=True),
        sa.Column("previous_school", sa.String(length=7), nullable=True),
        sa.Column("expected_start", sa.Date(), nullable=False),
        sa.Column("school_days_allowed", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("source_event_id", sa.String(length=64), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_transition_expectation_child_id_child"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition_expectation")),
    )
    with op.batch_alter_table("transition_expectation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transition_expectation_child_id"), ["child_id"], unique=False)
        batch_op.create_index("ix_transition_expectation_state_due_on", ["state", "due_on"], unique=False)

    op.create_table(
        "watchlist_review",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("child_id", sa.String(length=36), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_watchlist_review_child_id_child"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_review")),
    )
    with op.batch_alter_table("watchlist_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_watchlist_review_child_id"), ["child_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("watchlist_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watchlist_review_child_id"))

    op.drop_table("watchlist_review")
    with op.batch_alter_table("transition_expectation", schema=None) as batch_op:
        batch_op.drop_index("ix_transition_expectation_state_due_on")
        batch_op.drop_index(batch_op.f("ix_transition_expectation_child_id"))

    op.drop_table("transition_expectation")
    with op.batch_alter_table("s2s_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_s2s_result_child_id"))
        batch_op.drop_index(batch_op.f("ix_s2s_result_batch_id"))

    op.drop_table("s2s_result")
    op.drop_table("place_vacancy")
    op.drop_table("place_provider")
