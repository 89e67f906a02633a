"""tablet sign-outs: an outbox token sends only what its author left waiting

One row per person and registered tablet: when they last signed out there, and the outbox changes they left
waiting ([[Idempotency-Key, path], ...]). A token issued before that sign-out sends those and nothing else.
Nothing existing changes: tokens issued before this revision have no issue time and count as issued before
any sign-out recorded from now on.

Revision ID: b11c5a9e0f03
Revises: b11b0a4d70e2
Create Date: 2026-12-04 19:40:32.180906

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b11c5a9e0f03'
down_revision = 'b11b0a4d70e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tablet_sign_out',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('signed_out_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waiting_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_tablet_sign_out_device_id_device')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_tablet_sign_out_user_id_user')),
    sa.PrimaryKeyConstraint('user_id', 'device_id', name=op.f('pk_tablet_sign_out'))
    )


def downgrade():
    op.drop_table('tablet_sign_out')
