"""polls, scheduled statuses, conversations and quotes

Revision ID: 0400_polls_quotes
Revises: 0100_spaces
Create Date: 2026-12-01 08:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0400_polls_quotes'
down_revision = '0300_media'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'), ondelete=ondelete)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('statuses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quote_approval_policy', sa.String(length=10), nullable=True))

    op.create_table('polls',
    _id(),
    sa.Column('status_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('multiple', sa.Boolean(), nullable=False),
    sa.Column('hide_totals', sa.Boolean(), nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    sa.Column('ended_notified', sa.Boolean(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    _fk('polls', 'status_id', 'statuses', 'CASCADE'),
    _fk('polls', 'account_id', 'accounts', 'CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls')),
    sa.UniqueConstraint('status_id', name=op.f('uq_polls_status_id')),
    )

    op.create_table('poll_votes',
    _id(),
    sa.Column('poll_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('choice', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    _fk('poll_votes', 'poll_id', 'polls', 'CASCADE'),
    _fk('poll_votes', 'account_id', 'accounts', 'CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_votes')),
    sa.UniqueConstraint('poll_id', 'account_id', 'choice', name=op.f('uq_poll_votes_poll_id_account_id_choice')),
    )
    op.create_index(op.f('ix_poll_votes_account_id_poll_id'), 'poll_votes', ['account_id', 'poll_id'], unique=False)

    op.create_table('scheduled_statuses',
    _id(),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('scheduled_at', TS, nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    _fk('scheduled_statuses', 'account_id', 'accounts', 'CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_statuses')),
    )
    op.create_index(op.f('ix_scheduled_statuses_account_id_scheduled_at'), 'scheduled_statuses',
                    ['account_id', 'scheduled_at'], unique=False)

    op.create_table('account_conversations',
    _id(),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('participant_key', sa.String(length=1000), nullable=False),
    sa.Column('participant_ids', sa.JSON(), nullable=False),
    sa.Column('last_status_id', sa.BigInteger(), nullable=True),
    sa.Column('unread', sa.Boolean(), nullable=False),
    _fk('account_conversations', 'account_id', 'accounts', 'CASCADE'),
    _fk('account_conversations', 'last_status_id', 'statuses', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_conversations')),
    sa.UniqueConstraint('account_id', 'participant_key', name=op.f('uq_account_conversations_account_id_participant_key')),
    )
    op.create_index(op.f('ix_account_conversations_account_id_last_status_id'), 'account_conversations',
                    ['account_id', 'last_status_id'], unique=False)

    op.create_table('conversation_statuses',
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('status_id', sa.BigInteger(), nullable=False),
    _fk('conversation_statuses', 'conversation_id', 'account_conversations', 'CASCADE'),
    _fk('conversation_statuses', 'status_id', 'statuses', 'CASCADE'),
    sa.UniqueConstraint('conversation_id', 'status_id', name=op.f('uq_conversation_statuses_conversation_id_status_id')),
    )
    op.create_index(op.f('ix_conversation_statuses_status_id'), 'conversation_statuses', ['status_id'], unique=False)

    op.create_table('quotes',
    _id(),
    sa.Column('status_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('quoted_status_id', sa.BigInteger(), nullable=True),
    sa.Column('quoted_account_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    _fk('quotes', 'status_id', 'statuses', 'CASCADE'),
    _fk('quotes', 'account_id', 'accounts', 'CASCADE'),
    _fk('quotes', 'quoted_status_id', 'statuses', 'SET NULL'),
    _fk('quotes', 'quoted_account_id', 'accounts', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('status_id', name=op.f('uq_quotes_status_id')),
    )
    op.create_index(op.f('ix_quotes_quoted_status_id_state_id'), 'quotes', ['quoted_status_id', 'state', 'id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('quotes')
    op.drop_table('conversation_statuses')
    op.drop_table('account_conversations')
    op.drop_table('scheduled_statuses')
    op.drop_table('poll_votes')
    op.drop_table('polls')
    with op.batch_alter_table('statuses', schema=None) as batch_op:
        batch_op.drop_column('quote_approval_policy')
