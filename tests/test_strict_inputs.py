"""Strict inputs (issue 11, findings 4 and 6): an answer is taken only from the fields its item's inputs post, in
ASCII digits with the item's decimals; other bodies, files and fields are refused, naming them; photos are checked
by their header's pixel count before decoding, and written to disk (file and name) before the commit."""
import io
import json
import os

import pytest
from PIL import Image, ImageFile
from sqlalchemy import func, select

from app.database import in_read_only
from app.extensions import db as _db
from app.models import Answer, Attachment, Blob, RecordVersion
from app.services.core import blobs
from app.services.core.audit import Actor
from app.services.core.blobs import FolderStore
from app.services.core.errors import DomainError
from app.services.floor import submissions
from tests.helpers.photos import jpeg_with_exif, png

PRESS, FAI, FORKLIFT = ("press-start-of-shift", "Press 1"), ("first-article-inspection", "Press 1"), \
    ("forklift-pre-use", "Pack 1")
KEPT = "2026-11-24T14:40:00-06:00"


@pytest.fixture
def operator(login, users, plant):
    """operator signed in on a tablet session."""
    return login(users.operator, tablet=True)


def url(draft, item: str) -> str:
    return f"/floor/submissions/{draft.id}/items/{item}"


def answer(client, draft, item: str, **fields):
    """Post fields to the item as htmx does (the CSRF token in the header)."""
    return client.post_form(url(draft, item), fields, htmx=True)


def stored(db, draft, item: str):
    """The item's answer row as committed: (value, answered_by_id), or None."""
    db.session.expire_all()
    row = db.session.scalar(select(Answer).where(Answer.submission_id == draft.id, Answer.item_name == item))
    return None if row is None else row.value


def answered(users, start_draft, form=PRESS, **values):
    """A draft of form with values saved through the service (the state a refused post must leave alone)."""
    draft = start_draft(users.operator, *form)
    for item, value in values.items():
        submissions.save_answer(draft, item, {}, Actor(users.operator.id), value=value, parsed=True)
    return draft


# --- fields: what an item's inputs post, and nothing else -------------------------------------------------

@pytest.mark.parametrize("fields,named", [
    ({"value": "pass", "status": "signed", "extra": "x"}, ["status", "extra"]),
    ({"value": "pass", "answered_by_id": "1"}, ["answered_by_id"]),
    ({"value": ["pass", "fail"]}, ["value"]),  # a check's radio posts one value
    ({"sample_0": "pass"}, ["sample_0"]),
])
def test_unknown_or_repeated_fields_are_refused_naming_them(operator, users, start_draft, db, fields, named):
    """SEC-MASS-1: a field the item's inputs do not post (or post once) is a 422 naming it; the answer stays."""
    draft = answered(users, start_draft, guards_in_place="fail")
    response = answer(operator, draft, "guards_in_place", **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and all(f"“{name}”" in html for name in named)
    assert "a check item takes value" in html
    assert stored(db, draft, "guards_in_place") == "fail"


@pytest.mark.parametrize("url,fields", [
    ("/floor/station", {"station_id": ["1", "2"]}),
    ("/account/password", {"current_password": ["a", "b"], "new_password": "a-brand-new-password"}),
], ids=["station", "password"])
def test_every_other_form_refuses_a_field_sent_twice(login, users, url, fields):
    """SEC-MASS-1 beyond answers: any form field sent twice (where only one was read) is a 422 naming it,
    and nothing is done."""
    client = login(users.operator)
    response = client.post_form(url, fields)
    name = next(iter(fields))
    assert response.status_code == 422 and "Sent 2 times; send it once." in response.get_data(as_text=True), name
    assert client.get("/floor/stations").status_code == 200  # still signed in: the password was not changed


def test_the_service_names_each_refused_field(users, start_draft, db):
    """save_answer refuses the fields itself (for every caller, not only the view): one error per field."""
    draft = answered(users, start_draft, guards_in_place="fail")
    with pytest.raises(DomainError) as refused:
        submissions.save_answer(draft, "guards_in_place", {"value": ["pass"], "status": ["signed"], "by": ["7"]},
                                Actor(users.operator.id))
    assert refused.value.status == 422 and sorted(refused.value.errors) == ["by", "status"]
    db.session.rollback()
    assert stored(db, draft, "guards_in_place") == "fail"


@pytest.mark.parametrize("fields,words", [
    ({"value": "x"}, "Unknown field “value”: a photo item takes no posted value"),
    ({}, "Photos are added with the photo button, not posted"),
])
def test_a_photo_item_takes_no_posted_value(operator, users, start_draft, db, fields, words):
    """Finding 4: POST …/items/<photo item> with value=x was a 500; now a 422 saying what the item takes."""
    draft = start_draft(users.operator)
    response = answer(operator, draft, "guard_photo", **fields)
    assert response.status_code == 422 and words in response.get_data(as_text=True)
    assert stored(db, draft, "guard_photo") is None


@pytest.mark.parametrize("content_type,body", [
    ("application/json", json.dumps({"value": "fail"})),
    ("text/plain", "value=fail"),
    (None, "value=fail"),
])
def test_a_body_that_is_not_form_data_is_refused_not_taken_as_a_cleared_answer(operator, users, start_draft, db,
                                                                            content_type, body):
    """A JSON or text body read as no fields at all, which cleared the answer: now a 415 saying what is taken."""
    draft = answered(users, start_draft, guards_in_place="pass")
    headers = {"HX-Request": "true", "X-CSRFToken": operator.csrf_token()}
    response = operator.post(url(draft, "guards_in_place"), data=body, content_type=content_type, headers=headers)
    assert response.status_code == 415
    assert "An answer is posted as form fields" in response.get_data(as_text=True)
    assert stored(db, draft, "guards_in_place") == "pass"


def test_a_json_client_is_told_in_the_json_error_shape(operator, users, start_draft, db):
    """A client that asks for JSON gets {code, status, message, errors} naming the Content-Type."""
    draft = answered(users, start_draft, guards_in_place="pass")
    response = operator.post(url(draft, "guards_in_place"), json={"value": "fail"},
                             headers={"Accept": "application/json", "X-CSRFToken": operator.csrf_token()})
    body = response.get_json()
    assert response.status_code == 415 and body["status"] == 415 and "Content-Type" in body["errors"]
    assert stored(db, draft, "guards_in_place") == "pass"


def test_a_file_posted_as_an_answer_is_refused(operator, users, start_draft, db):
    """A file on the answer route is not an answer (photos have their own route): 422 naming the field."""
    draft = answered(users, start_draft, hydraulic_pressure=150.0)
    response = operator.post_form(url(draft, "hydraulic_pressure"),
                                  {"value": (io.BytesIO(b"151"), "value.txt"), "photo": (io.BytesIO(png()), "p.png")},
                                  htmx=True, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Unknown field “photo”" in html and "Unknown field “value”" in html
    assert stored(db, draft, "hydraulic_pressure") == 150.0


# --- every legitimate post still saves ----------------------------------------------------------------------

@pytest.mark.parametrize("form,item,fields,value", [
    (PRESS, "hydraulic_pressure", {"value": "150.5"}, 150.5),
    (PRESS, "guards_in_place", {"value": "pass"}, "pass"),
    (FAI, "overall_length", {"sample_0": "120.01", "sample_1": "119.9", "sample_2": "120"}, [120.01, 119.9, 120.0]),
    (FAI, "inspection_reason", {"value": "die_change"}, "die_change"),
    (FAI, "part_number", {"value": "BR-214-C"}, "BR-214-C"),
    (FORKLIFT, "battery_charge", {"value": "−5"}, -5.0),
    (FORKLIFT, "visible_damage", {"value": ["forks", "none"]}, ["forks", "none"]),
    (FORKLIFT, "truck_number", {"value": "FL-07"}, "FL-07"),
    (FORKLIFT, "last_service_date", {"value": "2026-11-02"}, "2026-11-02"),
    (FORKLIFT, "check_time", {"value": "14:35"}, "14:35"),
    (FORKLIFT, "fit_to_drive", {"value": "yes"}, True),
], ids=lambda v: v if isinstance(v, str) else None)
@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_every_item_type_saves_what_its_inputs_post(operator, users, start_draft, db, form, item, fields, value,
                                                    multipart):
    """The fields each type's template posts, with the CSRF token and device_time beside them, urlencoded (htmx)
    or multipart (the outbox's FormData), are saved as before."""
    draft = start_draft(users.operator, *form)
    posted = fields | {"csrf_token": operator.csrf_token(), "device_time": KEPT}
    response = operator.post(url(draft, item), data=posted, headers={"HX-Request": "true"},
                             content_type="multipart/form-data" if multipart else None)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored(db, draft, item) == value


@pytest.fixture
def decodes(monkeypatch):
    """Each time Pillow decodes an image's pixels: whether the session was then in a read-only transaction."""
    calls, real = [], ImageFile.ImageFile.load

    def recording(image):
        calls.append(in_read_only(_db.session))
        return real(image)
    monkeypatch.setattr(ImageFile.ImageFile, "load", recording)
    return calls


def test_a_photo_is_decoded_before_the_write_lock_is_taken(operator, users, start_draft, db, decodes):
    """Decoding a large photo takes long: it happens in the request's read-only transaction, and only the
    writes that store and attach it take the write lock."""
    draft = start_draft(users.operator)
    response = operator.post_form(url(draft, "guard_photo") + "/photo",
                                  {"photo": (io.BytesIO(jpeg_with_exif((1600, 1200))), "g.jpg"), "device_time": KEPT},
                                  htmx=True, content_type="multipart/form-data")
    assert response.status_code == 200 and len(stored(db, draft, "guard_photo")) == 1
    assert decodes and all(decodes), decodes  # every decode (the photo and its derivative) read-only


def test_a_photo_upload_still_saves(operator, users, start_draft, db):
    """The photo route (multipart with csrf_token, photo and device_time) is untouched by the answer route's rules."""
    draft = start_draft(users.operator)
    response = operator.post_form(url(draft, "guard_photo") + "/photo",
                                  {"photo": (io.BytesIO(jpeg_with_exif((320, 240))), "g.jpg"), "device_time": KEPT},
                                  htmx=True, content_type="multipart/form-data")
    assert response.status_code == 200 and len(stored(db, draft, "guard_photo")) == 1


# --- numbers: ASCII digits, one separator, the item's decimals ----------------------------------------------

@pytest.mark.parametrize("form,item,fields,message", [
    (PRESS, "hydraulic_pressure", {"value": "150.123456789"}, "At most 1 decimal place, e.g. 150.1"),
    (PRESS, "hydraulic_pressure", {"value": "150.10"}, "At most 1 decimal place, e.g. 150.1"),
    (FORKLIFT, "battery_charge", {"value": "55.4"}, "A whole number, e.g. 55"),
    (FAI, "overall_length", {"sample_0": "120.00", "sample_1": "119.999"},
     "Reading 2: At most 2 decimal places, e.g. 120.00"),
    (PRESS, "hydraulic_pressure", {"value": "١٥٠"}, "Enter a number such as 150.0"),  # Arabic-Indic 150
    (PRESS, "hydraulic_pressure", {"value": "۱۵۰.۵"}, "Enter a number such as 150.0"),  # Persian digits
    (PRESS, "hydraulic_pressure", {"value": "１５０"}, "Enter a number such as 150.0"),  # full-width digits
    (PRESS, "hydraulic_pressure", {"value": "150,5"}, "Enter a number with a decimal point, such as 150.0"),
    (PRESS, "hydraulic_pressure", {"value": "1,500"}, "Enter a number with a decimal point"),
    (PRESS, "hydraulic_pressure", {"value": "1.5.0"}, "Enter a number such as 150.0"),
    (FORKLIFT, "last_service_date", {"value": "٢٠٢٦-١١-٠٢"}, "Enter a date as YYYY-MM-DD"),
    (FORKLIFT, "check_time", {"value": "٧:35"}, "Enter a time as HH:MM"),  # was stored as 07:35
], ids=lambda v: v if isinstance(v, str) else None)
def test_numbers_dates_and_times_take_ascii_digits_and_the_items_decimals(operator, users, start_draft, db, form,
                                                                          item, fields, message):
    """More decimals than the item declares, other scripts' digits and (by default) a comma are a 422 that says
    what is expected; nothing is stored."""
    draft = start_draft(users.operator, *form)
    response = answer(operator, draft, item, **fields)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert stored(db, draft, item) is None


@pytest.mark.parametrize("typed,value", [("150,5", 150.5), ("150.5", 150.5), ("−3,0", -3.0), ("1.500,5", None),
                                         ("1,5,0", None), ("150,55", None)])
def test_a_site_that_writes_a_decimal_comma_takes_one_separator(app, operator, users, start_draft, db, typed, value):
    """FLOORBOOK_DECIMAL_COMMA=1: a comma or a point is the decimal separator, never both, never two."""
    app.config["DECIMAL_COMMA"] = True
    draft = start_draft(users.operator)
    response = answer(operator, draft, "hydraulic_pressure", value=typed)
    assert response.status_code == (200 if value is not None else 422)
    assert stored(db, draft, "hydraulic_pressure") == value


# --- corrections parse the same way -------------------------------------------------------------------------

@pytest.mark.parametrize("fields,named", [
    ({"value": "152", "status": "signed"}, "Unknown field “status”"),
    ({"value": "152.25"}, "At most 1 decimal place, e.g. 152.2"),
    ({"value": "١٥٢"}, "Enter a number such as 150.0"),
    ({"value": "152,0"}, "Enter a number with a decimal point"),
])
def test_a_correction_is_parsed_as_strictly(login, users, make_record, db, fields, named):
    """POST /records/<id>/correct/<item> refuses what the answer route refuses: 422, no new version."""
    record = make_record(users.operator)
    supervisor = login(users.supervisor)
    response = supervisor.post_form(f"/records/{record.id}/correct/hydraulic_pressure",
                                    {"reason": "Gauge misread", **fields})
    assert response.status_code == 422 and named in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 1


def test_a_correction_with_its_reason_and_value_is_saved(login, users, make_record, db):
    """The correct page's own fields (csrf_token, value, reason) still make version 2."""
    record = make_record(users.operator)
    response = login(users.supervisor).post_form(f"/records/{record.id}/correct/hydraulic_pressure",
                                                 {"reason": "Gauge misread", "value": "152.5"})
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 2


# --- photos: pixels from the header, bytes and names on disk before the commit -----------------------------

def huge_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height one-bit pixels: a few kilobytes that decode to millions."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, format="PNG", optimize=True)
    return out.getvalue()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's note at open; refused here
@pytest.mark.parametrize("size,words", [((9000, 8800), "this one is 9000 × 8800, 79.2 megapixels"),
                                        ((20000, 20000), "this one is over 80 megapixels")], ids=["79MP", "400MP"])
def test_a_photo_with_too_many_pixels_is_refused_from_its_header(operator, users, start_draft, db, size, words,
                                                                 decodes):
    """A 79-megapixel PNG of a few KB was decoded for seconds under the write lock (Pillow refuses only twice
    MAX_IMAGE_PIXELS; that one it took as "not a photo"): now a 413 saying the limit and the photo's size, before
    any pixel is decoded."""
    data = huge_png(*size)
    assert len(data) < 100_000
    draft = start_draft(users.operator)
    response = operator.post_form(url(draft, "guard_photo") + "/photo", {"photo": (io.BytesIO(data), "bomb.png")},
                                  htmx=True, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 413 and f"At most 40 megapixels; {words}." in html
    assert decodes == []  # refused from the header: not one pixel decoded
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert stored(db, draft, "guard_photo") is None


@pytest.fixture
def fsyncs(monkeypatch):
    """Every os.fsync as (path of the descriptor, whether it is a folder), recorded; the real fsync still runs."""
    calls, real = [], os.fsync

    def recording(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        calls.append((path, os.path.isdir(path)))
        return real(fd)
    monkeypatch.setattr(os, "fsync", recording)
    return calls


def test_a_folder_blob_is_fsynced_file_and_folder_before_put_returns(tmp_path, fsyncs):
    """The bytes (written aside), the renamed name (its folder) and a new <aa> folder (the root) reach the disk
    before put() returns, so a commit naming the blob never outlives the file in a crash."""
    store = FolderStore(tmp_path / "blobs")
    store.root.mkdir()
    digest = store.put(b"photo bytes")
    path = store.path(digest)
    assert path.read_bytes() == b"photo bytes"
    files = [p for p, is_dir in fsyncs if not is_dir]
    folders = [p for p, is_dir in fsyncs if is_dir]
    assert len(files) == 1 and os.path.dirname(files[0]) == str(path.parent) and files[0].endswith(".tmp")
    assert str(path.parent) in folders and str(store.root) in folders
    fsyncs.clear()
    store.put(b"photo bytes")  # there already: nothing written, nothing to sync
    assert fsyncs == []


def test_an_uploaded_photos_files_are_fsynced(operator, users, start_draft, db, app, fsyncs):
    """Over HTTP: the original and the derivative each have their file and their folder synced."""
    if app.config["BLOB_STORE"] != "folder":
        pytest.skip("the folder store writes files")
    draft = start_draft(users.operator)
    response = operator.post_form(url(draft, "guard_photo") + "/photo",
                                  {"photo": (io.BytesIO(jpeg_with_exif((320, 240))), "g.jpg")},
                                  htmx=True, content_type="multipart/form-data")
    assert response.status_code == 200
    photo = db.session.scalar(select(Attachment))
    folders = {p for p, is_dir in fsyncs if is_dir}
    for digest in (photo.sha256, photo.derivative_sha256):
        path = blobs.store().path(digest)
        assert str(path.parent) in folders
        assert any(not is_dir and os.path.basename(p).startswith(f".{digest}.") for p, is_dir in fsyncs)
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 0
