"""The fill page's progress counts what submit asks for, so it agrees with the list of what is missing."""
from app.services.records import versions
from tests.test_floor import answer, operator  # noqa: F401  (operator is a fixture)

PRESS_REQUIRED = 8  # six checks, the pressure and the guard photo


def test_a_failure_adds_its_reason_and_action_to_what_progress_counts(operator, users, start_draft, db):
    """A failed pressure asks for a reason and an action: progress counts them, and done + missing = all."""
    draft = start_draft(users.operator)
    assert (versions.progress(draft).answered, versions.progress(draft).required) == (0, PRESS_REQUIRED)
    html = answer(operator, draft, "hydraulic_pressure", value="171").get_data(as_text=True)
    db.session.expire_all()
    progress, missing = versions.progress(draft), versions.missing(draft)
    assert (progress.answered, progress.required) == (1, PRESS_REQUIRED + 2)
    assert "hydraulic_pressure" not in progress.unanswered and len(progress.unanswered) == PRESS_REQUIRED - 1
    assert progress.required - progress.answered == len(missing) == PRESS_REQUIRED - 1 + 2
    assert f"1 of {PRESS_REQUIRED + 2} done" in html


def test_explaining_a_failure_moves_progress(operator, users, start_draft, db):
    """The reason and action given: both count as done, and missing no longer lists them."""
    draft = start_draft(users.operator)
    answer(operator, draft, "hydraulic_pressure", value="171")
    response = operator.post_form(f"/floor/submissions/{draft.id}/items/hydraulic_pressure/explain",
                                  {"reason": "Valve drifted", "action": "Re-set"}, htmx=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert (versions.progress(draft).answered, versions.progress(draft).required) == (3, PRESS_REQUIRED + 2)
    assert [m.need for m in versions.missing(draft)] == ["an answer"] * (PRESS_REQUIRED - 1)


def test_refused_submit_list_folds_and_links_each_item(operator, users, start_draft):
    """The 422 list is a <details> open at first, one link per problem, each pointing at its item."""
    draft = start_draft(users.operator)
    answer(operator, draft, "hydraulic_pressure", value="171")
    response = operator.post_form(f"/floor/submissions/{draft.id}/submit", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<details class="missing-details" open>' in html and "<summary" in html
    assert html.count('data-jump="') == PRESS_REQUIRED - 1 + 2
    assert 'href="#item-hydraulic_pressure" data-jump="hydraulic_pressure"' in html
    assert f"Not submitted yet: {PRESS_REQUIRED + 1} things need attention." in html
