"""media: attachments and the attachments of each status version

Revision ID: 0300_media
Revises: 0100_spaces
Create Date: 2026-12-01 08:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0300_media'
down_revision = '0100_spaces'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('media_attachments',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('status_id', sa.BigInteger(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('prefix', sa.String(length=80), nullable=False),
    sa.Column('file_key', sa.String(length=200), nullable=True),
    sa.Column('file_type', sa.String(length=100), nullable=True),
    sa.Column('preview_key', sa.String(length=200), nullable=True),
    sa.Column('upload_key', sa.String(length=200), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=200), nullable=True),
    sa.Column('url_base', sa.String(length=500), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('blurhash', sa.String(length=100), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_media_attachments_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_id'], ['statuses.id'], name=op.f('fk_media_attachments_status_id_statuses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_attachments'))
    )
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_attachments_status_id_position'), ['status_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_attachments_account_id_id'), ['account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_attachments_status_id_created_at'), ['status_id', 'created_at'], unique=False)

    op.create_table('status_edit_media',
    sa.Column('edit_id', sa.BigInteger(), nullable=False),
    sa.Column('media_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['edit_id'], ['status_edits.id'], name=op.f('fk_status_edit_media_edit_id_status_edits'), ondelete='CASCADE'),
    sa.UniqueConstraint('edit_id', 'media_id', name=op.f('uq_status_edit_media_edit_id_media_id'))
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('status_edit_media')
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_attachments_status_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_media_attachments_account_id_id'))
        batch_op.drop_index(batch_op.f('ix_media_attachments_status_id_position'))
    op.drop_table('media_attachments')
