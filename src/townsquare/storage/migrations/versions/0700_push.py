"""push: Web Push subscriptions, one per access token

Revision ID: 0700_push
Revises: 0100_spaces
Create Date: 2026-12-01 08:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0700_push'
down_revision = '0600_trends_cards'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('web_push_subscriptions',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('token_id', sa.BigInteger(), nullable=False),
    sa.Column('access_token_sealed', sa.Text(), nullable=False),
    sa.Column('endpoint', sa.Text(), nullable=False),
    sa.Column('key_p256dh', sa.String(length=200), nullable=False),
    sa.Column('key_auth', sa.String(length=100), nullable=False),
    sa.Column('standard', sa.Boolean(), nullable=False),
    sa.Column('alerts', sa.JSON(), nullable=False),
    sa.Column('policy', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_web_push_subscriptions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['oauth_tokens.id'], name=op.f('fk_web_push_subscriptions_token_id_oauth_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_push_subscriptions')),
    sa.UniqueConstraint('token_id', name=op.f('uq_web_push_subscriptions_token_id'))
    )
    with op.batch_alter_table('web_push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_push_subscriptions_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('web_push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_push_subscriptions_account_id'))
    op.drop_table('web_push_subscriptions')
