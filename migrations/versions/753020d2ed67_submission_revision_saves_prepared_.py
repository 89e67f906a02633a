"""submission revision: saves prepared without the write lock

Revision ID: 753020d2ed67
Revises: a8ab76240c6f
Create Date: 2026-12-02 03:16:33.902155

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '753020d2ed67'
down_revision = 'a8ab76240c6f'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both engines (existing drafts start at revision 0); the table is not rebuilt.
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('revision')
