"""background jobs (the worker's queue) and bulk export progress

Revision ID: c67d13188307
Revises: 51a1f4b9e70b
Create Date: 2026-12-02 06:00:16.943876

"""
from alembic import op
import sqlalchemy as sa

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'c67d13188307'
down_revision = '51a1f4b9e70b'
branch_labels = None
depends_on = None

QUEUED_ONLY = "state = 'queued'"  # a partial index: SQLite ≥ 3.8 and PostgreSQL both take the same WHERE


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('run_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('locked_by', sa.String(length=120), nullable=True),
    sa.Column('locked_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    op.create_index('ix_job_queued_dedupe', 'job', ['dedupe_key'], unique=True,
                    sqlite_where=sa.text(QUEUED_ONLY), postgresql_where=sa.text(QUEUED_ONLY))
    op.create_index('ix_job_state_run_at', 'job', ['state', 'run_at'], unique=False)

    op.create_table('export_run',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('rendered', sa.Integer(), nullable=False),
    sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_export_run_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_run'))
    )
    op.create_index(op.f('ix_export_run_user_id'), 'export_run', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_export_run_user_id'), table_name='export_run')
    op.drop_table('export_run')
    op.drop_index('ix_job_state_run_at', table_name='job')
    op.drop_index('ix_job_queued_dedupe', table_name='job')
    op.drop_table('job')
