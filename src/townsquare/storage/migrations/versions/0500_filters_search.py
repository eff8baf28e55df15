"""filters and full-text search: custom filters with keywords and statuses; a status text index per dialect

Revision ID: 0500_filters_search
Revises: 0100_spaces
Create Date: 2026-12-01 08:50:00

SQLite gets an FTS5 table over statuses (external content, kept in step by triggers, so every
insert, edit and delete updates it in the same transaction); PostgreSQL gets a stored generated
tsvector column with a GIN index (computed by the server on every write of the row).
"""

from alembic import op
import sqlalchemy as sa


revision = '0500_filters_search'
down_revision = '0400_polls_quotes'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
FTS_TRIGGERS = {
    'statuses_fts_insert': "AFTER INSERT ON statuses BEGIN "
                           "INSERT INTO statuses_fts(rowid, text, spoiler_text) VALUES (new.id, new.text, new.spoiler_text); END",
    'statuses_fts_delete': "AFTER DELETE ON statuses BEGIN "
                           "INSERT INTO statuses_fts(statuses_fts, rowid, text, spoiler_text) "
                           "VALUES ('delete', old.id, old.text, old.spoiler_text); END",
    'statuses_fts_update': "AFTER UPDATE OF text, spoiler_text ON statuses BEGIN "
                           "INSERT INTO statuses_fts(statuses_fts, rowid, text, spoiler_text) "
                           "VALUES ('delete', old.id, old.text, old.spoiler_text); "
                           "INSERT INTO statuses_fts(rowid, text, spoiler_text) VALUES (new.id, new.text, new.spoiler_text); END",
}
PG_DOCUMENT = "to_tsvector('simple'::regconfig, coalesce(spoiler_text, '') || ' ' || coalesce(text, ''))"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('custom_filters',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=256), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('expires_at', TS, nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_custom_filters_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_filters'))
    )
    op.create_index(op.f('ix_custom_filters_account_id'), 'custom_filters', ['account_id'], unique=False)
    op.create_table('custom_filter_keywords',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('custom_filter_id', sa.BigInteger(), nullable=False),
    sa.Column('keyword', sa.Text(), nullable=False),
    sa.Column('whole_word', sa.Boolean(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['custom_filter_id'], ['custom_filters.id'],
                            name=op.f('fk_custom_filter_keywords_custom_filter_id_custom_filters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_filter_keywords'))
    )
    op.create_index(op.f('ix_custom_filter_keywords_custom_filter_id'), 'custom_filter_keywords', ['custom_filter_id'], unique=False)
    op.create_table('custom_filter_statuses',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('custom_filter_id', sa.BigInteger(), nullable=False),
    sa.Column('status_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['custom_filter_id'], ['custom_filters.id'],
                            name=op.f('fk_custom_filter_statuses_custom_filter_id_custom_filters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_id'], ['statuses.id'], name=op.f('fk_custom_filter_statuses_status_id_statuses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_filter_statuses')),
    sa.UniqueConstraint('custom_filter_id', 'status_id', name=op.f('uq_custom_filter_statuses_custom_filter_id_status_id'))
    )
    op.create_index(op.f('ix_custom_filter_statuses_status_id'), 'custom_filter_statuses', ['status_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE statuses_fts USING fts5(text, spoiler_text, content='statuses', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 2')")
        for name, body in FTS_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute("INSERT INTO statuses_fts(statuses_fts) VALUES ('rebuild')")  # statuses written before this revision
    else:
        op.execute(f"ALTER TABLE statuses ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED")
        op.execute("CREATE INDEX ix_statuses_search_document ON statuses USING gin (search_document)")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == 'sqlite':
        for name in FTS_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS statuses_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_statuses_search_document")
        op.execute("ALTER TABLE statuses DROP COLUMN IF EXISTS search_document")
    op.drop_index(op.f('ix_custom_filter_statuses_status_id'), table_name='custom_filter_statuses')
    op.drop_table('custom_filter_statuses')
    op.drop_index(op.f('ix_custom_filter_keywords_custom_filter_id'), table_name='custom_filter_keywords')
    op.drop_table('custom_filter_keywords')
    op.drop_index(op.f('ix_custom_filters_account_id'), table_name='custom_filters')
    op.drop_table('custom_filters')
