"""SEC-XSS-1: what people type is shown as text everywhere it is shown: in the htmx fragment a save answers
with, the fill page, the deviation page, the record and its PDF. A payload that were not escaped would appear
raw in the HTML (and in the PDF be taken as markup and vanish from the text); a template expression would be
evaluated (49)."""
import pytest
from markupsafe import escape
from sqlalchemy import select

from app.extensions import db
from app.models import Deviation, Submission
from tests.helpers.records import fill_and_submit
from tests.test_records_http import pdf_text

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}",
            '<div hx-get="/admin" hx-trigger="load">x</div>']


def shown_as_text(page: str, payload: str) -> bool:
    """The payload is in the page escaped as the templates escape text, and nowhere raw."""
    escaped = str(escape(payload))
    return escaped in page and (escaped == payload or payload not in page)


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror", "template", "htmx-attribute"])
def test_typed_text_is_inert_in_pages_fragments_and_the_pdf(login, users, start_draft, payload):
    operator = login(users.operator)
    draft_id = start_draft(users.operator).id
    base = f"/floor/submissions/{draft_id}/items"
    assert operator.post_form(f"{base}/oil_leaks", {"value": "fail"}, htmx=True).status_code == 200
    assert operator.post_form(f"{base}/oil_leaks/explain", {"reason": "seen", "action": "wiped"},
                              htmx=True).status_code == 200
    fragment = operator.post_form(f"{base}/leak_location", {"value": payload}, htmx=True)
    assert fragment.status_code == 200 and shown_as_text(fragment.get_data(as_text=True), payload)
    assert operator.post_form(f"{base}/hydraulic_pressure", {"value": "171"}, htmx=True).status_code == 200
    explained = operator.post_form(f"{base}/hydraulic_pressure/explain", {"reason": payload, "action": payload},
                                   htmx=True)
    assert explained.status_code == 200 and shown_as_text(explained.get_data(as_text=True), payload)
    assert shown_as_text(operator.get(f"/floor/submissions/{draft_id}").get_data(as_text=True), payload)

    supervisor = login(users.supervisor)
    deviation = db.session.scalar(select(Deviation).where(Deviation.submission_id == draft_id))
    assert shown_as_text(supervisor.get(f"/deviations/{deviation.id}").get_data(as_text=True), payload)
    fill_and_submit(db.session.get(Submission, draft_id), users.operator, keep_answers=True)
    db.session.commit()
    assert shown_as_text(supervisor.get(f"/records/{draft_id}").get_data(as_text=True), payload)
    text = " ".join(pdf_text(supervisor.get(f"/records/{draft_id}.pdf").data).split())
    assert payload in text  # printed as the characters typed, not taken as markup


def test_a_deviation_raised_by_hand_shows_its_words_as_text(login, users, plant):
    supervisor = login(users.supervisor)
    response = supervisor.post_form("/deviations", {"station_id": plant.stations["Press 1"].id,
                                                    "what_happened": PAYLOADS[1], "cause": PAYLOADS[0]})
    assert response.status_code == 303
    page = supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert shown_as_text(page, PAYLOADS[1]) and shown_as_text(page, PAYLOADS[0])
