"""satisfaction ratings and follow-up tickets; live-chat activity and queue positions (CONTRACT §10)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('satisfaction_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('satisfaction_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('satisfaction_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('follows', sa.Integer(), nullable=True))

    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('told_position', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.drop_column('told_position')
        batch_op.drop_column('active_at')

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('follows')
        batch_op.drop_column('satisfaction_at')
        batch_op.drop_column('satisfaction_comment')
        batch_op.drop_column('satisfaction_score')
