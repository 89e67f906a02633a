"""Builders for submitted records: any form filled with passing answers through the services."""
import uuid

import pytest

from app.models import Submission, User
from app.services.floor import attachments, evaluation, submissions
from app.services.records import versions
from app.services.core.audit import Actor
from app.services.demo.history import answer_for
from app.models.types import utcnow
from tests.helpers.photos import png


def fill_and_submit(submission: Submission, user: User, keep_answers: bool = False) -> Submission:
    """Answer every visible item within spec (photos included; with keep_answers, only those not answered
    yet) and submit."""
    actor = Actor(user.id)
    for _section, item in evaluation.iter_items(submission.form_version.definition):
        if item["type"] == "instruction" or not evaluation.is_visible(item, submissions.answer_values(submission)):
            continue
        if keep_answers and item["name"] in submissions.answers_by_item(submission):
            continue
        if item["type"] == "photo":
            photo = attachments.store_photo(png(), 10 << 20, user.id)
            submissions.add_photo(submission, item["name"], photo.sha256, actor)
        else:
            value = answer_for(item, _Calm(), False, utcnow())
            submissions.save_answer(submission, item["name"], {}, actor, value=value, parsed=True)
    versions.submit(submission, actor)
    return submission


class _Calm:
    """A random source that always returns the middle: answers land on nominal."""

    def gauss(self, mu, sigma):
        return mu

    def uniform(self, a, b):
        return a


@pytest.fixture
def make_record(plant):
    """make_record(user, form_id, station) → a submitted record."""
    def make(user: User, form_id: str = "press-start-of-shift", station: str = "Press 1") -> Submission:
        draft = submissions.start_submission(str(uuid.uuid4()), plant.forms[form_id].id,
                                             plant.stations[station].id, Actor(user.id))
        return fill_and_submit(draft, user)
    return make
