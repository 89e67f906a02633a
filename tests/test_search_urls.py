"""The address bar equals the search shown: htmx searches answer with the canonical URL of the search they ran."""
from datetime import timedelta

import pytest

from app.services.core.audit import Actor
from app.services.quality import deviations
from tests.test_search import T0, submit_record

HTMX = {"HX-Request": "true"}
# What the records form sends: every field, blank or not, in the order of the page.
FORM = {"q": "relief valve", "date_from": "", "date_to": "", "line": "", "station": "", "form": "", "status": "all",
        "performer": "", "signer": "", "per_page": "50"}


def htmx_get(client, url: str, query: dict | None = None, current: str = "/records?q=before"):
    """A search made by htmx from the page at `current`."""
    return client.get(url, query_string=query, headers={**HTMX, "HX-Current-URL": f"http://localhost{current}"})


@pytest.fixture
def auditor(login, users, plant, start_draft):
    """An auditor's client, with three Weld 1 records (the two newest out of spec with a reason)."""
    for n in range(3):
        submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=n), fail="calibration_in_date" if n else None)
    return login(users.auditor)


@pytest.mark.parametrize("query, address", [
    (FORM, "/records?q=relief+valve"),
    ({**FORM, "out_of_spec": "true", "status": "submitted"}, "/records?status=submitted&out_of_spec=true&q=relief+valve"),
    ({**FORM, "q": "", "per_page": "10"}, "/records?per_page=10"),
    ({**FORM, "q": "  weld ", "per_page": "10", "page": "2"}, "/records?q=weld&per_page=10&page=2"),
    ({k: "" for k in FORM}, "/records"),
])
def test_records_search_pushes_the_canonical_url_of_the_search_it_ran(auditor, query, address):
    """The form's fields, blank ones dropped, defaults left out, in one order, are the pushed address."""
    response = htmx_get(auditor, "/records", query)
    assert response.status_code == 200 and response.headers["HX-Push-Url"] == address
    assert "HX-Replace-Url" not in response.headers and "HX-Current-URL" in response.vary


def test_the_pushed_url_reloads_the_same_results(auditor):
    """Opening the pushed address as a page shows the same count and rows as the fragment, and the filters set."""
    fragment = htmx_get(auditor, "/records", {**FORM, "out_of_spec": "true"})
    address = fragment.headers["HX-Push-Url"]
    page = auditor.get(address)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "HX-Push-Url" not in page.headers
    assert "2 records · showing 1–2" in fragment.get_data(as_text=True) and "2 records · showing 1–2" in html
    assert 'value="relief valve"' in html and 'value="true" checked' in html


def test_page_links_push_their_page(auditor, users, start_draft):
    """A page link's answer pushes that page with the filters and the page size."""
    for n in range(10):
        submit_record(start_draft, users.operator, at=T0 + timedelta(hours=1, minutes=n))
    response = htmx_get(auditor, "/records?q=weld&per_page=10&page=2", current="/records?q=weld&per_page=10")
    assert "Page 2 of 2" in response.get_data(as_text=True)
    assert response.headers["HX-Push-Url"] == "/records?q=weld&per_page=10&page=2"
    assert 'hx-push-url' not in response.get_data(as_text=True)


@pytest.mark.parametrize("current", ["/records?q=relief%20valve",
                                     "/records?q=relief+valve&date_from=&status=all&per_page=50"])
def test_the_same_search_again_replaces_the_entry(auditor, current):
    """A search the page already shows (Search pressed after the field's change) replaces, so Back is not a copy."""
    response = htmx_get(auditor, "/records", FORM, current=current)
    assert response.headers["HX-Replace-Url"] == "/records?q=relief+valve" and "HX-Push-Url" not in response.headers


def test_invalid_filters_push_what_was_typed(auditor):
    """Dates in the wrong order: 422, and the address keeps them as typed so a reload shows the same message."""
    response = htmx_get(auditor, "/records", {**FORM, "date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert response.status_code == 422
    assert response.headers["HX-Push-Url"] == "/records?q=relief+valve&date_from=2026-02-01&date_to=2026-01-01&status=all&per_page=50"
    assert "on or after 2026-02-01" in auditor.get(response.headers["HX-Push-Url"]).get_data(as_text=True)


def test_a_full_page_names_no_address(auditor):
    """Without htmx the browser's own address is the query string, and a history restore is already at its
    address: no push or replace header."""
    response = auditor.get("/records", query_string=FORM)
    assert response.status_code == 200 and "HX-Push-Url" not in response.headers
    restore = auditor.get("/records?q=weld", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert not {"HX-Push-Url", "HX-Replace-Url"} & set(restore.headers.keys())


def test_deviation_search_pushes_its_canonical_url(login, users, plant):
    """The deviations form and its page links answer with the search's own address; the same search replaces."""
    for n in range(3):
        deviations.raise_manual(plant.stations["Press 1"], f"Relief valve leak {n}", None, None, None,
                                Actor(users.operator.id))
    client = login(users.supervisor)
    form = {"q": "relief", "status": "open", "line": "", "station": "", "decision": "", "date_from": "", "date_to": ""}
    response = htmx_get(client, "/deviations", form, current="/deviations")
    assert response.headers["HX-Push-Url"] == "/deviations?status=open&q=relief"
    assert "3 deviations" in response.get_data(as_text=True)
    again = htmx_get(client, "/deviations", form, current="/deviations?status=open&q=relief")
    assert again.headers["HX-Replace-Url"] == "/deviations?status=open&q=relief"
    page = htmx_get(client, "/deviations?q=relief&page=2", current="/deviations?q=relief")
    assert page.headers["HX-Push-Url"] == "/deviations?q=relief&page=2"
