"""websettings: avatar and header images of an account, each with its alt text

Revision ID: 0900_websettings_profile_images
Revises: 0800_faults
Create Date: 2026-12-01 12:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0900_websettings_profile_images'
down_revision = '0800_faults'
branch_labels = None
depends_on = None

COLUMNS = ('avatar_file', 'avatar_description', 'header_file', 'header_description')


def upgrade() -> None:
    """Apply this revision."""
    op.add_column('accounts', sa.Column('avatar_file', sa.String(500), nullable=True))
    op.add_column('accounts', sa.Column('avatar_description', sa.Text(), nullable=True))
    op.add_column('accounts', sa.Column('header_file', sa.String(500), nullable=True))
    op.add_column('accounts', sa.Column('header_description', sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('accounts') as batch:
        for name in COLUMNS:
            batch.drop_column(name)
