"""lists, list members, and recent activity for fan-out

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('lists',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('replies_policy', sa.String(length=10), nullable=False),
    sa.Column('exclusive', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_lists_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lists'))
    )
    op.create_index(op.f('ix_lists_account_id'), 'lists', ['account_id'], unique=False)
    op.create_table('list_accounts',
    sa.Column('list_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_list_accounts_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_list_accounts_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('list_id', 'account_id', name=op.f('pk_list_accounts'))
    )
    op.create_index(op.f('ix_list_accounts_account_id'), 'list_accounts', ['account_id'], unique=False)
    op.add_column('accounts', sa.Column('feed_hybrid', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Accounts that existed before activity was tracked count as active from now on.
    op.execute(sa.text("UPDATE accounts SET last_active_at = created_at WHERE last_active_at IS NULL"))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('feed_hybrid')
    op.drop_index(op.f('ix_list_accounts_account_id'), table_name='list_accounts')
    op.drop_table('list_accounts')
    op.drop_index(op.f('ix_lists_account_id'), table_name='lists')
    op.drop_table('lists')
