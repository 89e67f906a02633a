"""board screen tokens kept as sha256: a database copy opens no board

board_screen.token (the kiosk URL's secret, in plain text) becomes token_sha256, the hex sha256 of that token,
as device.token_sha256 already is. Existing tokens are hashed in place, so every TV keeps its URL. The way
back cannot know the tokens again: downgrade refuses while any screen exists (revoke and delete them, and make
new screens after the downgrade).

Revision ID: b11b0a4d70e2
Revises: b11a0c4d0e01
Create Date: 2026-12-03 14:30:00.000000

"""
import hashlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b11b0a4d70e2'
down_revision = 'b11a0c4d0e01'
branch_labels = None
depends_on = None

_screen = sa.table("board_screen", sa.column("id", sa.Integer), sa.column("token", sa.String),
                   sa.column("token_sha256", sa.String))


def upgrade():
    with op.batch_alter_table('board_screen', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_sha256', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for screen_id, token in connection.execute(sa.select(_screen.c.id, _screen.c.token)).all():
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()  # as app.canonical.sha256_hex
        connection.execute(_screen.update().where(_screen.c.id == screen_id).values(token_sha256=digest))
    with op.batch_alter_table('board_screen', schema=None) as batch_op:
        batch_op.drop_constraint('uq_board_screen_token', type_='unique')
        batch_op.drop_column('token')
        batch_op.alter_column('token_sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_board_screen_token_sha256'), ['token_sha256'])


def downgrade():
    screens = op.get_bind().execute(sa.select(sa.func.count()).select_from(_screen)).scalar()
    if screens:
        raise RuntimeError(
            f"cannot downgrade below b11b0a4d70e2: the {screens} board screen(s) keep only the sha256 of their "
            "kiosk token, and the old schema needs the token itself, which no one can recover. Delete the "
            "board_screen rows first (their TVs stop), downgrade, then make new screens under Admin > Boards.")
    with op.batch_alter_table('board_screen', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_board_screen_token_sha256'), type_='unique')
        batch_op.add_column(sa.Column('token', sa.String(length=64), nullable=False))
        batch_op.drop_column('token_sha256')
        batch_op.create_unique_constraint('uq_board_screen_token', ['token'])
