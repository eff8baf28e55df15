"""trends and cards: link preview cards, their statuses, and tag/status/link trend scores

Revision ID: 0600_trends_cards
Revises: 0100_spaces
Create Date: 2026-12-01 08:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0600_trends_cards'
down_revision = '0500_filters_search'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'), ondelete='CASCADE')


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('preview_cards',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    _text('title'), _text('description'),
    sa.Column('type', sa.String(length=10), nullable=False),
    _text('author_name'), _text('author_url'), _text('provider_name'), _text('provider_url'), _text('html'),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('image', sa.Text(), nullable=True),
    _text('image_description'), _text('embed_url'),
    sa.Column('blurhash', sa.String(length=100), nullable=True),
    sa.Column('published_at', TS, nullable=True),
    sa.Column('authors', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preview_cards')),
    sa.UniqueConstraint('url', name=op.f('uq_preview_cards_url'))
    )
    op.create_table('status_preview_cards',
    sa.Column('status_id', sa.BigInteger(), nullable=False),
    sa.Column('preview_card_id', sa.BigInteger(), nullable=False),
    _fk('status_preview_cards', 'status_id', 'statuses'),
    _fk('status_preview_cards', 'preview_card_id', 'preview_cards'),
    sa.PrimaryKeyConstraint('status_id', name=op.f('pk_status_preview_cards'))
    )
    op.create_index(op.f('ix_status_preview_cards_preview_card_id_status_id'), 'status_preview_cards',
                    ['preview_card_id', 'status_id'], unique=False)
    op.create_table('tag_trends',
    sa.Column('tag_id', sa.BigInteger(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('max_score', sa.Float(), nullable=False),
    sa.Column('max_score_at', TS, nullable=True),
    _fk('tag_trends', 'tag_id', 'tags'),
    sa.PrimaryKeyConstraint('tag_id', name=op.f('pk_tag_trends'))
    )
    op.create_index(op.f('ix_tag_trends_score'), 'tag_trends', ['score'], unique=False)
    op.create_table('status_trends',
    sa.Column('status_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    _fk('status_trends', 'status_id', 'statuses'),
    _fk('status_trends', 'account_id', 'accounts'),
    sa.PrimaryKeyConstraint('status_id', name=op.f('pk_status_trends'))
    )
    op.create_index(op.f('ix_status_trends_score'), 'status_trends', ['score'], unique=False)
    op.create_table('link_trends',
    sa.Column('preview_card_id', sa.BigInteger(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('max_score', sa.Float(), nullable=False),
    sa.Column('max_score_at', TS, nullable=True),
    _fk('link_trends', 'preview_card_id', 'preview_cards'),
    sa.PrimaryKeyConstraint('preview_card_id', name=op.f('pk_link_trends'))
    )
    op.create_index(op.f('ix_link_trends_score'), 'link_trends', ['score'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    for table in ('link_trends', 'status_trends', 'tag_trends'):
        op.drop_index(op.f(f'ix_{table}_score'), table_name=table)
        op.drop_table(table)
    op.drop_index(op.f('ix_status_preview_cards_preview_card_id_status_id'), table_name='status_preview_cards')
    op.drop_table('status_preview_cards')
    op.drop_table('preview_cards')
