"""feeds: an index of the reblog entries of each feed

A fan-out adds an entry only if the feed shows neither the status nor a reblog of it. Without this index
the "nor a reblog of it" half read every entry of the feed (up to the feed limit and more between trims)
for each feed a post reached: ~240 us for one feed of a few thousand entries on SQLite.
Partial: only reblog entries have a reblog_of_id, so it stays small and original posts' inserts skip it.

Revision ID: 1000_feed_reblogs_index
Revises: 0900_websettings_profile_images
Create Date: 2026-12-02 01:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '1000_feed_reblogs_index'
down_revision = '0900_websettings_profile_images'
branch_labels = None
depends_on = None

WHERE = sa.text('reblog_of_id IS NOT NULL')


def upgrade() -> None:
    """Apply this revision."""
    op.create_index('ix_feed_entries_reblogs', 'feed_entries', ['feed', 'reblog_of_id'], unique=False,
                    sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index('ix_feed_entries_reblogs', table_name='feed_entries')
