"""search index: one text index (FTS5 / tsvector), indexes for every search filter

One table, search_document (kind, ref, words), holds the words every searchable thing is found by: each
submitted record (its current version's words, so far in submission.search_text, which goes) and each
deviation. Beside it the engine's own full-text index: on SQLite an FTS5 table over it (external content,
kept by three triggers), on PostgreSQL a generated tsvector column with a GIN index. Existing records and
deviations are indexed here, so an upgraded plant finds its history. The words are normalised as
app/services/core/text_index.py does it (copied below: a migration must not change when the app does).

record_signer holds who signed each record's current version, kept by triggers on signature and record_version
(any writer, the signing service, the demo or a test, keeps it right), filled here from the signatures.

Plus the indexes the records and deviations searches' filters walk: out-of-spec records (partial),
deviations by time, by station and by decision, newest first.

Revision ID: 9477a9bf2d9d
Revises: c67d13188307
Create Date: 2026-12-02 06:01:53.488114

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9477a9bf2d9d'
down_revision = 'c67d13188307'
branch_labels = None
depends_on = None

BATCH = 2000
_WORD = re.compile(r"[^\W_]+")
_DEVIATION_FIELDS = ("what_happened", "cause_category", "cause", "immediate_action", "options_considered",
                     "constraints", "decision_notes", "resolution")
_document = sa.table("search_document", sa.column("kind", sa.String), sa.column("ref", sa.String),
                     sa.column("words", sa.Text), sa.column("updated_at", sa.DateTime(timezone=True)))


def _words(text):
    """Normalised words, as text_index.words: casefolded, accents folded, runs of letters and digits."""
    folded = unicodedata.normalize("NFKD", (text or "").casefold())
    return " ".join(_WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch))))


def _backfill(bind, kind, rows):
    """Insert (kind, ref, words) for each (ref, text) of rows, BATCH at a time."""
    batch = []
    for ref, text in rows:
        batch.append({"kind": kind, "ref": str(ref), "words": _words(text)})
        if len(batch) == BATCH:
            bind.execute(_document.insert().values(updated_at=sa.func.current_timestamp()), batch)
            batch = []
    if batch:
        bind.execute(_document.insert().values(updated_at=sa.func.current_timestamp()), batch)


# record_signer: a signature on the newest version adds its signer; a new version clears the record's signers.
_SIGNED = ("SELECT NEW.signer_id, rv.submission_id FROM record_version rv WHERE rv.id = NEW.record_version_id "
           "AND rv.version = (SELECT max(version) FROM record_version WHERE submission_id = rv.submission_id)")
_CLEARED = "DELETE FROM record_signer WHERE submission_id = NEW.submission_id"


def _signer_triggers(dialect):
    if dialect == "postgresql":
        op.execute("CREATE FUNCTION record_signer_signed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"INSERT INTO record_signer (signer_id, submission_id) {_SIGNED} ON CONFLICT DO NOTHING; "
                   "RETURN NULL; END $$")
        op.execute("CREATE FUNCTION record_signer_cleared() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"{_CLEARED}; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER record_signer_signed AFTER INSERT ON signature FOR EACH ROW "
                   "EXECUTE FUNCTION record_signer_signed()")
        op.execute("CREATE TRIGGER record_signer_cleared AFTER INSERT ON record_version FOR EACH ROW "
                   "EXECUTE FUNCTION record_signer_cleared()")
        return
    op.execute("CREATE TRIGGER record_signer_signed AFTER INSERT ON signature BEGIN "
               f"INSERT OR IGNORE INTO record_signer (signer_id, submission_id) {_SIGNED}; END")
    op.execute(f"CREATE TRIGGER record_signer_cleared AFTER INSERT ON record_version BEGIN {_CLEARED}; END")


def upgrade():
    op.create_table('search_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_document')),
    sa.UniqueConstraint('ref', 'kind', name=op.f('uq_search_document_ref_kind'))
    )
    op.create_table('record_signer',
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['signer_id'], ['user.id'], name=op.f('fk_record_signer_signer_id_user')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'],
                            name=op.f('fk_record_signer_submission_id_submission')),
    sa.PrimaryKeyConstraint('signer_id', 'submission_id', name=op.f('pk_record_signer'))
    )
    with op.batch_alter_table('record_signer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_signer_submission_id'), ['submission_id'], unique=False)
    bind = op.get_bind()
    op.execute("INSERT INTO record_signer (signer_id, submission_id) SELECT DISTINCT g.signer_id, rv.submission_id "
               "FROM signature g JOIN record_version rv ON rv.id = g.record_version_id "
               "JOIN submission s ON s.id = rv.submission_id AND s.current_version = rv.version")
    _signer_triggers(bind.dialect.name)
    records = bind.execute(sa.text("SELECT id, search_text FROM submission WHERE submitted_at IS NOT NULL"))
    _backfill(bind, "record", records.all())
    columns = ", ".join(_DEVIATION_FIELDS)
    deviations = bind.execute(sa.text(f"SELECT id, {columns} FROM deviation")).all()
    _backfill(bind, "deviation", [(row[0], " ".join(v for v in row[1:] if v)) for row in deviations])

    # The kind is in the engine's index too, so a search of one kind never reads the other kinds' matches.
    if bind.dialect.name == "postgresql":
        # 'simple': no stemming and no stop words, as FTS5's unicode61 (the same documents match on both). The
        # kind is the lexeme 'kind:<kind>', which no normalised word can be (words hold no ':').
        op.execute("ALTER TABLE search_document ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
                   "(to_tsvector('simple'::regconfig, words) || array_to_tsvector(ARRAY['kind:' || kind])) STORED")
        op.execute("CREATE INDEX ix_search_document_tsv ON search_document USING gin (tsv)")
    else:
        op.execute("CREATE VIRTUAL TABLE search_document_fts USING fts5(kind, words, content='search_document', "
                   "content_rowid='id', tokenize='unicode61', prefix='2 3')")
        op.execute("INSERT INTO search_document_fts(search_document_fts) VALUES ('rebuild')")
        op.execute("CREATE TRIGGER search_document_fts_insert AFTER INSERT ON search_document BEGIN "
                   "INSERT INTO search_document_fts(rowid, kind, words) VALUES (new.id, new.kind, new.words); END")
        op.execute("CREATE TRIGGER search_document_fts_delete AFTER DELETE ON search_document BEGIN "
                   "INSERT INTO search_document_fts(search_document_fts, rowid, kind, words) "
                   "VALUES ('delete', old.id, old.kind, old.words); END")
        op.execute("CREATE TRIGGER search_document_fts_update AFTER UPDATE ON search_document BEGIN "
                   "INSERT INTO search_document_fts(search_document_fts, rowid, kind, words) "
                   "VALUES ('delete', old.id, old.kind, old.words); "
                   "INSERT INTO search_document_fts(rowid, kind, words) VALUES (new.id, new.kind, new.words); END")

    with op.batch_alter_table('deviation', schema=None) as batch_op:
        batch_op.create_index('ix_deviation_decision_raised_at', ['decision', 'raised_at', 'id'], unique=False)
        batch_op.create_index('ix_deviation_raised_at_id', ['raised_at', 'id'], unique=False)
        batch_op.create_index('ix_deviation_station_id_raised_at', ['station_id', 'raised_at', 'id'], unique=False)

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index('ix_submission_out_of_spec', ['submitted_at', 'id', 'fail_count'], unique=False,
                              sqlite_where=sa.text('fail_count > 0'), postgresql_where=sa.text('fail_count > 0'))
    # A plain DROP COLUMN on both engines (SQLite ≥ 3.35): the table is not rebuilt, its references stay.
    op.execute("ALTER TABLE submission DROP COLUMN search_text")


def downgrade():
    op.execute("ALTER TABLE submission ADD COLUMN search_text TEXT DEFAULT '' NOT NULL")
    op.execute("UPDATE submission SET search_text = COALESCE((SELECT words FROM search_document "
               "WHERE search_document.kind = 'record' AND search_document.ref = submission.id), '')")
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_out_of_spec', sqlite_where=sa.text('fail_count > 0'),
                            postgresql_where=sa.text('fail_count > 0'))

    with op.batch_alter_table('deviation', schema=None) as batch_op:
        batch_op.drop_index('ix_deviation_station_id_raised_at')
        batch_op.drop_index('ix_deviation_raised_at_id')
        batch_op.drop_index('ix_deviation_decision_raised_at')

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER record_signer_signed ON signature")
        op.execute("DROP TRIGGER record_signer_cleared ON record_version")
        op.execute("DROP FUNCTION record_signer_signed()")
        op.execute("DROP FUNCTION record_signer_cleared()")
    else:
        for name in ("signed", "cleared"):
            op.execute(f"DROP TRIGGER record_signer_{name}")
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER search_document_fts_{name}")
        op.execute("DROP TABLE search_document_fts")
    op.drop_table('record_signer')
    op.drop_table('search_document')
