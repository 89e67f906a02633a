"""login throttle per account and source: growing locks, familiar sources, unlock

Revision ID: b11a0c4d0e01
Revises: 9477a9bf2d9d
Create Date: 2026-12-03 14:10:00.000000

A row now counts one account's failures from one source (a registered tablet or a client address), or
from every source together; existing rows were per account and become those all-sources rows.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b11a0c4d0e01'
down_revision = '9477a9bf2d9d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.alter_column('identifier', existing_type=sa.String(length=128), type_=sa.String(length=220),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('account', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE login_throttle SET account = identifier")
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.alter_column('account', existing_type=sa.String(length=128), nullable=False)
        batch_op.create_index(batch_op.f('ix_login_throttle_locked_until'), ['locked_until'], unique=False)


def downgrade():
    op.execute("DELETE FROM login_throttle WHERE source IS NOT NULL")
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_locked_until'))
        batch_op.drop_column('last_success_at')
        batch_op.drop_column('locked_at')
        batch_op.drop_column('source')
        batch_op.drop_column('account')
        batch_op.alter_column('identifier', existing_type=sa.String(length=220), type_=sa.String(length=128),
                              existing_nullable=False)
