"""moderation: account sanctions, reports, warnings, appeals and the append-only action log

Revision ID: 0200_moderation
Revises: 0002
Create Date: 2026-11-23 13:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0200_moderation'
down_revision = '0003'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SANCTIONS = ('suspended_at', 'silenced_at', 'sensitized_at', 'disabled_at')


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'), ondelete=ondelete)


def upgrade() -> None:
    """Apply this revision."""
    for name in SANCTIONS:
        op.add_column('accounts', sa.Column(name, TS, nullable=True))
    op.create_index(op.f('ix_accounts_suspended_at'), 'accounts', ['suspended_at'], unique=False)
    op.create_index(op.f('ix_accounts_silenced_at'), 'accounts', ['silenced_at'], unique=False)
    op.add_column('notifications', sa.Column('account_warning_id', sa.BigInteger(), nullable=True))
    op.create_table('reports',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('target_account_id', sa.BigInteger(), nullable=False),
    sa.Column('status_ids', sa.JSON(), nullable=False),
    sa.Column('rule_ids', sa.JSON(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('forwarded', sa.Boolean(), nullable=False),
    sa.Column('assigned_account_id', sa.BigInteger(), nullable=True),
    sa.Column('action_taken_by_account_id', sa.BigInteger(), nullable=True),
    sa.Column('action_taken_at', TS, nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    _fk('reports', 'account_id', 'accounts', 'CASCADE'),
    _fk('reports', 'target_account_id', 'accounts', 'CASCADE'),
    _fk('reports', 'assigned_account_id', 'accounts', 'SET NULL'),
    _fk('reports', 'action_taken_by_account_id', 'accounts', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    op.create_index(op.f('ix_reports_target_account_id_id'), 'reports', ['target_account_id', 'id'], unique=False)
    op.create_table('account_warnings',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('target_account_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status_ids', sa.JSON(), nullable=False),
    sa.Column('report_id', sa.BigInteger(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('overruled_at', TS, nullable=True),
    sa.Column('created_at', TS, nullable=False),
    _fk('account_warnings', 'account_id', 'accounts', 'SET NULL'),
    _fk('account_warnings', 'target_account_id', 'accounts', 'CASCADE'),
    _fk('account_warnings', 'report_id', 'reports', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_warnings'))
    )
    op.create_index(op.f('ix_account_warnings_target_account_id_id'), 'account_warnings', ['target_account_id', 'id'], unique=False)
    op.create_table('appeals',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('account_warning_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('decided_by_account_id', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', TS, nullable=True),
    sa.Column('created_at', TS, nullable=False),
    _fk('appeals', 'account_id', 'accounts', 'CASCADE'),
    _fk('appeals', 'account_warning_id', 'account_warnings', 'CASCADE'),
    _fk('appeals', 'decided_by_account_id', 'accounts', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('account_warning_id', name=op.f('uq_appeals_account_warning_id'))
    )
    op.create_table('action_logs',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=True),
    sa.Column('target_handle', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_logs'))
    )
    # The audit log is append-only at the database level too.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""CREATE FUNCTION action_logs_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'action_logs is append-only'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER action_logs_append_only BEFORE UPDATE OR DELETE ON action_logs
FOR EACH ROW EXECUTE FUNCTION action_logs_append_only()""")
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"""CREATE TRIGGER action_logs_no_{verb.lower()} BEFORE {verb} ON action_logs
BEGIN SELECT RAISE(ABORT, 'action_logs is append-only'); END""")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS action_logs_append_only ON action_logs')
        op.execute('DROP FUNCTION IF EXISTS action_logs_append_only()')
    op.drop_table('action_logs')
    op.drop_table('appeals')
    op.drop_index(op.f('ix_account_warnings_target_account_id_id'), table_name='account_warnings')
    op.drop_table('account_warnings')
    op.drop_index(op.f('ix_reports_target_account_id_id'), table_name='reports')
    op.drop_table('reports')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_column('account_warning_id')
    op.drop_index(op.f('ix_accounts_silenced_at'), table_name='accounts')
    op.drop_index(op.f('ix_accounts_suspended_at'), table_name='accounts')
    with op.batch_alter_table('accounts') as batch:
        for name in SANCTIONS:
            batch.drop_column(name)
