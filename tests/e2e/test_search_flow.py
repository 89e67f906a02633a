"""Records search end to end in headless Chromium: after every change the address bar is the search shown."""
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from playwright.sync_api import expect

from app.services.core.audit import Actor
from app.services.quality import deviations
from tests.e2e.signin import password_sign_in
from tests.helpers.builders import PASSWORD
from tests.test_search import PRESS, T0, submit_record

SEARCH = "Search words, record id or sha256"


def records_page(tablet_context, live_server: str, auditor: str):
    """The auditor signed in, on the Records page."""
    page = password_sign_in(tablet_context, live_server, auditor, PASSWORD)
    page.get_by_role("link", name="Records").click()
    expect(page.get_by_role("heading", name="Records")).to_be_visible()
    return page


def shows(page, live_server: str, address: str, count: str, first_id: str):
    """The address bar is `address`, the form holds that search's values, and the results are its own."""
    expect(page).to_have_url(live_server + address)
    args = dict(parse_qsl(urlsplit(page.url).query))
    expect(page.get_by_label(SEARCH)).to_have_value(args.get("q", ""))
    expect(page.get_by_label("Only with a failed answer")).to_be_checked(checked=args.get("out_of_spec") == "true")
    expect(page.get_by_label("Status", exact=True)).to_have_value(args.get("status", "all"))
    expect(page.get_by_label("Records per page")).to_have_value(args.get("per_page", "50"))
    results = page.get_by_role("region", name="Results")
    expect(results.get_by_role("status").filter(has_text="record")).to_contain_text(count)
    expect(results.get_by_role("row").nth(1).get_by_role("link", name=f"Record {first_id}")).to_be_visible()


def test_the_address_follows_every_change_and_reloads_the_same_search(users, plant, start_draft, tablet_context,
                                                                         request):
    """Typing and Search, the failed-answer box, two selects and a page link each put their search in the address;
    reloading it shows the same results, and Back brings the search before it."""
    weld = [submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=n),
                          fail=None if n in (0, 13) else "calibration_in_date").id for n in range(14)]
    submit_record(start_draft, users.operator, form_id=PRESS, station="Press 1", at=T0 + timedelta(hours=1))
    auditor = users.auditor.username  # read before the live server ends this session
    live_server = request.getfixturevalue("live_server")
    page = records_page(tablet_context, live_server, auditor)
    page.get_by_label(SEARCH).press_sequentially("weld", delay=40)
    page.get_by_role("button", name="Search").click()
    shows(page, live_server, "/records?q=weld", "14 records · showing 1–14", weld[13])

    page.get_by_label("Only with a failed answer").check()
    shows(page, live_server, "/records?out_of_spec=true&q=weld", "12 records · showing 1–12", weld[12])

    page.get_by_label("Status", exact=True).select_option("submitted")
    shows(page, live_server, "/records?status=submitted&out_of_spec=true&q=weld", "12 records", weld[12])

    page.get_by_label("Records per page").select_option("10")
    page_one = "/records?status=submitted&out_of_spec=true&q=weld&per_page=10"
    shows(page, live_server, page_one, "12 records · showing 1–10", weld[12])

    page.get_by_role("link", name="Next page").click()
    page_two = page_one + "&page=2"
    shows(page, live_server, page_two, "12 records · showing 11–12", weld[2])

    page.reload()
    shows(page, live_server, page_two, "12 records · showing 11–12", weld[2])

    page.go_back()
    shows(page, live_server, page_one, "12 records · showing 1–10", weld[12])
    page.go_back()
    shows(page, live_server, "/records?status=submitted&out_of_spec=true&q=weld", "12 records", weld[12])


def test_enter_in_the_search_field_puts_the_words_in_the_address(users, plant, start_draft, tablet_context, request):
    """Words typed and sent with Enter (or left to the typing pause) are the address, and clearing them is too."""
    newest_failed = [submit_record(start_draft, users.operator, at=T0 + timedelta(minutes=n),
                                   fail="calibration_in_date").id for n in range(2)][-1]
    press = submit_record(start_draft, users.operator, form_id=PRESS, station="Press 1", at=T0 + timedelta(hours=1)).id
    auditor = users.auditor.username  # read before the live server ends this session
    live_server = request.getfixturevalue("live_server")
    page = records_page(tablet_context, live_server, auditor)
    page.get_by_label(SEARCH).press_sequentially("relief valve", delay=40)
    page.get_by_label(SEARCH).press("Enter")
    shows(page, live_server, "/records?q=relief+valve", "2 records", newest_failed)

    page.get_by_label(SEARCH).fill("")
    shows(page, live_server, "/records", "3 records", press)
    page.go_back()
    shows(page, live_server, "/records?q=relief+valve", "2 records", newest_failed)


def test_the_deviations_search_keeps_its_address_too(users, plant, tablet_context, request):
    """On Deviations, words sent with Enter and a status chosen are the address; reload and Back agree."""
    actor = Actor(users.supervisor.id)
    raised = [deviations.raise_manual(plant.stations["Press 1"], f"Relief valve leak {n}", None, None, None, actor)
              for n in range(3)]
    deviations.acknowledge(raised[2], actor)
    newest, newest_open = raised[2].id, raised[1].id
    supervisor = users.supervisor.username
    live_server = request.getfixturevalue("live_server")

    page = password_sign_in(tablet_context, live_server, supervisor, PASSWORD)
    page.get_by_role("link", name="Deviations").click()
    words = page.get_by_label("Search words or deviation number")
    words.press_sequentially("relief", delay=40)
    words.press("Enter")
    results = page.get_by_role("region", name="Results")

    def shows(address: str, count: str, first: int):
        expect(page).to_have_url(live_server + address)
        args = dict(parse_qsl(urlsplit(page.url).query))
        expect(words).to_have_value(args.get("q", ""))
        expect(page.get_by_label("Status", exact=True)).to_have_value(args.get("status", ""))
        expect(results.get_by_role("status")).to_contain_text(count)
        expect(results.get_by_role("row").nth(1).get_by_role("link", name=f"#{first}")).to_be_visible()

    shows("/deviations?q=relief", "3 deviations", newest)
    page.get_by_label("Status", exact=True).select_option("open")
    shows("/deviations?status=open&q=relief", "2 deviations", newest_open)
    page.reload()
    shows("/deviations?status=open&q=relief", "2 deviations", newest_open)
    page.go_back()
    shows("/deviations?q=relief", "3 deviations", newest)
