"""faults: a heartbeat on claimed job rows, so a dead worker's jobs are taken over in seconds

Revision ID: 0800_faults
Revises: 0100_spaces
Create Date: 2026-12-01 08:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0800_faults'
down_revision = '0700_push'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column('jobs', sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('heartbeat_at')
