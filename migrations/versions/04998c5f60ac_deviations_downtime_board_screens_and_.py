"""deviations, downtime (one running per station, a partial unique index), board screens and the board feed

Revision ID: 04998c5f60ac
Revises: c943e61bc6fb
Create Date: 2026-11-30 14:17:24.365639

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '04998c5f60ac'
down_revision = 'c943e61bc6fb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('board_screen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_board_screen_area_id_area')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_board_screen_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_screen')),
    sa.UniqueConstraint('token', name=op.f('uq_board_screen_token'))
    )
    op.create_table('board_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_board_event_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_board_event'))
    )
    with op.batch_alter_table('board_event', schema=None) as batch_op:
        batch_op.create_index('ix_board_event_station_id_id', ['station_id', 'id'], unique=False)
    op.create_table('downtime_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('reason_code', sa.String(length=120), nullable=False),
    sa.Column('reason_label', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('fix', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ended_by_id'], ['user.id'], name=op.f('fk_downtime_event_ended_by_id_user')),
    sa.ForeignKeyConstraint(['started_by_id'], ['user.id'], name=op.f('fk_downtime_event_started_by_id_user')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_downtime_event_station_id_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_downtime_event'))
    )
    with op.batch_alter_table('downtime_event', schema=None) as batch_op:
        batch_op.create_index('ix_downtime_event_running', ['station_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.create_index('ix_downtime_event_station_id_started_at', ['station_id', 'started_at'], unique=False)

    op.create_table('deviation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.String(length=36), nullable=True),
    sa.Column('item_name', sa.String(length=80), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('cause_category', sa.String(length=80), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('immediate_action', sa.Text(), nullable=True),
    sa.Column('options_considered', sa.Text(), nullable=True),
    sa.Column('constraints', sa.Text(), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('decision_notes', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user.id'], name=op.f('fk_deviation_acknowledged_by_id_user')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'], name=op.f('fk_deviation_closed_by_id_user')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_deviation_decided_by_id_user')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user.id'], name=op.f('fk_deviation_raised_by_id_user')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user.id'], name=op.f('fk_deviation_resolved_by_id_user')),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_deviation_station_id_station')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_deviation_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deviation'))
    )
    with op.batch_alter_table('deviation', schema=None) as batch_op:
        batch_op.create_index('ix_deviation_station_id_status', ['station_id', 'status'], unique=False)
        batch_op.create_index('ix_deviation_status_raised_at', ['status', 'raised_at', 'id'], unique=False)
        batch_op.create_index('ix_deviation_submission_id_item_name', ['submission_id', 'item_name'], unique=False)



def downgrade():
    with op.batch_alter_table('deviation', schema=None) as batch_op:
        batch_op.drop_index('ix_deviation_submission_id_item_name')
        batch_op.drop_index('ix_deviation_status_raised_at')
        batch_op.drop_index('ix_deviation_station_id_status')

    op.drop_table('deviation')
    with op.batch_alter_table('downtime_event', schema=None) as batch_op:
        batch_op.drop_index('ix_downtime_event_station_id_started_at')
        batch_op.drop_index('ix_downtime_event_running', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.drop_table('downtime_event')
    with op.batch_alter_table('board_event', schema=None) as batch_op:
        batch_op.drop_index('ix_board_event_station_id_id')

    op.drop_table('board_event')
    op.drop_table('board_screen')
