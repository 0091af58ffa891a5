"""live chat lines, batched into agent mails (F8); link codes counted per member (F11)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel types)
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('telegram_chat_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chat_id'], ['telegram_chats.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('telegram_chat_lines', schema=None) as batch_op:
        batch_op.create_index('ix_telegram_chat_lines_pending', ['mailed_at', 'chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_telegram_chat_lines_chat_id'), ['chat_id'], unique=False)

    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('telegram_link_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_link_codes_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('telegram_link_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_link_codes_member_id'))

    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.drop_column('mailed_at')

    with op.batch_alter_table('telegram_chat_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_chat_lines_chat_id'))
        batch_op.drop_index('ix_telegram_chat_lines_pending')

    op.drop_table('telegram_chat_lines')
