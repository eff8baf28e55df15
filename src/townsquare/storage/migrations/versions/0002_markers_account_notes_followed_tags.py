"""markers, account notes, followed tags

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:07:05.343259
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('account_notes',
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('target_account_id', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_notes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_account_id'], ['accounts.id'], name=op.f('fk_account_notes_target_account_id_accounts'), ondelete='CASCADE'),
    sa.UniqueConstraint('account_id', 'target_account_id', name=op.f('uq_account_notes_account_id_target_account_id'))
    )
    op.create_table('markers',
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('timeline', sa.String(length=20), nullable=False),
    sa.Column('last_read_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_markers_account_id_accounts'), ondelete='CASCADE'),
    sa.UniqueConstraint('account_id', 'timeline', name=op.f('uq_markers_account_id_timeline'))
    )
    op.create_table('tag_follows',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('tag_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_tag_follows_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_tag_follows_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_follows')),
    sa.UniqueConstraint('account_id', 'tag_id', name=op.f('uq_tag_follows_account_id_tag_id'))
    )
    with op.batch_alter_table('tag_follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tag_follows_tag_id'), ['tag_id'], unique=False)



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('tag_follows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tag_follows_tag_id'))

    op.drop_table('tag_follows')
    op.drop_table('markers')
    op.drop_table('account_notes')
