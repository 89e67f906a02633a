"""Authorization over every route × role: anonymous, operator, inspector, supervisor, auditor, admin."""
import pytest

ROLES = ("anonymous", "operator", "inspector", "supervisor", "auditor", "admin")
FILL = {"operator", "inspector", "supervisor"}
SIGNED_IN = set(ROLES) - {"anonymous"}
EVERYONE = set(ROLES)
SIGNERS = {"inspector", "supervisor"}
READERS = {"inspector", "supervisor", "auditor", "admin"}

# (method, url template, endpoint, roles allowed, status when allowed, form data, htmx)
# A role outside "allowed" gets 403 when signed in and a redirect to /login when anonymous.
MATRIX = [
    ("GET", "/", "floor.index", EVERYONE, 302, None, False),
    ("GET", "/healthz", "health.healthz", EVERYONE, 200, None, False),
    ("GET", "/static/css/base.css", "static", EVERYONE, 200, None, False),
    ("GET", "/login", "auth.login", EVERYONE, 200, None, False),
    ("POST", "/login", "auth.login_post", EVERYONE, 422, {}, False),
    ("GET", "/login/badge", "auth.badge_login", EVERYONE, 403, None, False),
    ("POST", "/login/badge", "auth.badge_login_post", EVERYONE, 403, {"badge": "1", "pin": "1234"}, False),
    ("POST", "/logout", "auth.logout", SIGNED_IN, 302, {}, False),
    ("GET", "/account/password", "auth.password_form", SIGNED_IN, 200, None, False),
    ("POST", "/account/password", "auth.password_change", SIGNED_IN, 422, {}, False),
    ("GET", "/admin/devices", "admin.devices", {"admin", "supervisor"}, 200, None, False),
    ("POST", "/admin/devices", "admin.register_device", {"admin", "supervisor"}, 422, {}, False),
    ("POST", "/admin/devices/{device}/revoke", "admin.revoke_device", {"admin", "supervisor"}, 303, {}, False),
    ("GET", "/admin/users", "admin.users", {"admin"}, 200, None, False),
    ("POST", "/admin/users/{user}/active", "admin.set_active", {"admin"}, 303, {"active": "true"}, False),
    ("GET", "/admin/lockouts", "admin.lockouts", {"admin", "supervisor"}, 200, None, False),
    ("POST", "/admin/lockouts/unlock", "admin.unlock_sign_in", {"admin", "supervisor"}, 422, {}, False),
    ("GET", "/floor", "floor.home", FILL, 302, None, False),
    ("GET", "/floor/stations", "floor.stations", FILL, 200, None, False),
    ("POST", "/floor/station", "floor.choose_station", FILL, 422, {}, False),
    ("POST", "/floor/submissions", "floor.start", FILL, 422, {}, False),
    ("GET", "/floor/submissions/{draft}", "floor.fill", FILL, 200, None, False),
    ("POST", "/floor/submissions/{draft}/take-over", "floor.take_over", FILL, 303, {}, False),
    ("POST", "/floor/submissions/{draft}/items/guards_in_place", "floor.save_answer", FILL, 200, {"value": "pass"}, True),
    ("POST", "/floor/submissions/{draft}/items/hydraulic_pressure/explain", "floor.explain", FILL, 409, {"reason": "x"}, True),
    ("POST", "/floor/submissions/{draft}/items/guard_photo/photo", "floor.add_photo", FILL, 422, {}, True),
    ("POST", "/floor/submissions/{draft}/submit", "floor.submit", FILL, 422, {}, True),
    ("GET", "/floor/photos/{sha}.jpg", "floor.photo", SIGNED_IN, 404, None, False),
    ("GET", "/floor/downtime/new?station_id={station}", "downtime.new", FILL, 200, None, False),
    ("POST", "/floor/downtime", "downtime.start", FILL, 422, {}, False),
    ("POST", "/floor/downtime/999999/stop", "downtime.stop", FILL, 404, {"fix": "x"}, True),
    ("POST", "/floor/downtime/stop", "downtime.stop_at_station", FILL, 422, {}, False),
    ("GET", "/deviations", "deviations.index", READERS, 200, None, False),
    ("GET", "/deviations/new?station_id={station}", "deviations.new", FILL, 200, None, False),
    ("POST", "/deviations", "deviations.create", FILL, 422, {}, False),
    ("GET", "/deviations/999999", "deviations.show", SIGNED_IN, 404, None, False),
    ("POST", "/deviations/999999/cause", "deviations.cause", FILL, 404, {"cause": "x"}, False),
    ("POST", "/deviations/999999/acknowledge", "deviations.acknowledge", SIGNERS, 404, {}, False),
    ("POST", "/deviations/999999/decide", "deviations.decide", SIGNERS, 404, {}, False),
    ("POST", "/deviations/999999/resolve", "deviations.resolve", SIGNERS, 404, {}, False),
    ("POST", "/deviations/999999/close", "deviations.close", SIGNERS, 404, {}, False),
    ("GET", "/review", "review.queue", SIGNERS, 200, None, False),
    ("GET", "/review/{record}", "review.review", SIGNERS, 200, None, False),
    ("POST", "/review/{record}/sign", "review.sign", SIGNERS, 422, {}, False),
    ("GET", "/records", "records.search", READERS, 200, None, False),
    ("GET", "/records/export.zip?q=no-such-record", "records.export_zip", READERS, 200, None, False),
    ("GET", "/records/answers.csv", "records.answers_csv", READERS, 200, None, False),
    ("GET", "/records/exports/00000000-0000-4000-8000-000000000000?kind=zip", "records.export_progress_fragment",
     READERS, 200, None, False),
    ("GET", "/admin/jobs", "jobs.index", {"admin"}, 200, None, False),
    ("POST", "/admin/jobs/999999/retry", "jobs.retry", {"admin"}, 409, {}, False),
    ("GET", "/records/{record}", "records.record", SIGNED_IN, 200, None, False),
    ("GET", "/records/{record}.pdf", "records.record_pdf", SIGNED_IN, 200, None, False),
    ("GET", "/records/{record}/v1.pdf", "records.version_pdf", SIGNED_IN, 200, None, False),
    ("GET", "/records/{record}/correct/hydraulic_pressure", "records.correct_form", SIGNERS, 200, None, False),
    ("POST", "/records/{record}/correct/hydraulic_pressure", "records.correct", SIGNERS, 422, {"value": "152"}, False),
    ("GET", "/verify", "records.verify", EVERYONE, 200, None, False),
    ("POST", "/verify", "records.verify_upload", EVERYONE, 422, {}, False),
    ("GET", "/board/no-such-token", "board.screen", EVERYONE, 404, None, False),
    ("GET", "/board/no-such-token/events", "board.events", EVERYONE, 404, None, False),
    ("GET", "/board/no-such-token/fragment", "board.fragment", EVERYONE, 404, None, False),
    ("GET", "/admin/boards", "board.screens", {"admin"}, 200, None, False),
    ("POST", "/admin/boards", "board.create_screen", {"admin"}, 422, {}, False),
    ("POST", "/admin/boards/999999/revoke", "board.revoke_screen", {"admin"}, 404, {}, False),
    ("GET", "/manifest.webmanifest", "pwa.manifest", EVERYONE, 200, None, False),
    ("GET", "/sw.js", "pwa.service_worker", EVERYONE, 200, None, False),
    ("GET", "/offline", "pwa.offline", EVERYONE, 200, None, False),
    ("GET", "/floor/outbox", "pwa.outbox", FILL, 200, None, False),
    ("GET", "/floor/forms/{form}/blank?station={station}", "floor.blank", FILL, 200, None, False),
]


def test_matrix_covers_every_route(app):
    """A new route must be added to the matrix."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == {row[2] for row in MATRIX}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,endpoint,allowed,status,data,htmx", MATRIX, ids=[f"{r[0]} {r[1]}" for r in MATRIX])
def test_route_access(login, client, users, tablet, start_draft, make_record, role, method, url, endpoint, allowed, status, data, htmx):
    """Each role gets the expected status on each route (on its own draft and record: object scope is
    tests/test_object_scope.py's)."""
    owner = getattr(users, role) if role in FILL else users.operator
    draft = start_draft(owner)
    record = make_record(owner) if "{record}" in url else None
    url = url.format(draft=draft.id, station=draft.station_id, form=draft.form_version_id, device=tablet[0].id, user=users.operator.id, sha="0" * 64,
                     record=record.id if record else None)
    caller = client if role == "anonymous" else login(getattr(users, role))
    response = caller.get(url) if method == "GET" else caller.post_form(url, data, htmx=htmx)
    if role in allowed:
        assert response.status_code == status, response.get_data(as_text=True)[:300]
    elif role != "anonymous":
        assert response.status_code == 403
    elif htmx:  # htmx gets told to navigate the whole page to the sign-in
        assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/login")
    else:
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
