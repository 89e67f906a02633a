"""blob store table: photos and record PDFs by sha256 when FLOORBOOK_BLOB_STORE=database

Revision ID: 51a1f4b9e70b
Revises: 753020d2ed67
Create Date: 2026-12-02 05:59:57.405146

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '51a1f4b9e70b'
down_revision = '753020d2ed67'
branch_labels = None
depends_on = None


def upgrade():
    # LargeBinary is BLOB on SQLite and bytea on PostgreSQL (TOASTed out of line, compressed where it helps).
    # Files already kept in instance/attachments and instance/pdfs are copied in by `flask --app wsgi blobs import`.
    op.create_table('blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blob'))
    )


def downgrade():
    op.drop_table('blob')
