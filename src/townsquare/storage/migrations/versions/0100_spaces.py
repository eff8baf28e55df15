"""spaces: live audio rooms and their members

Revision ID: 0100_spaces
Revises: 0002
Create Date: 2026-11-23 13:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0100_spaces'
down_revision = '0200_moderation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('spaces',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('record', sa.Boolean(), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_spaces_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spaces'))
    )
    with op.batch_alter_table('spaces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spaces_state_id'), ['state', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_spaces_account_id_id'), ['account_id', 'id'], unique=False)

    op.create_table('space_members',
    sa.Column('space_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_space_members_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], name=op.f('fk_space_members_space_id_spaces'), ondelete='CASCADE'),
    sa.UniqueConstraint('space_id', 'account_id', name=op.f('uq_space_members_space_id_account_id'))
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('space_members')
    with op.batch_alter_table('spaces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spaces_account_id_id'))
        batch_op.drop_index(batch_op.f('ix_spaces_state_id'))
    op.drop_table('spaces')
