"""Sign-in steps shared by the end-to-end tests."""

def badge_sign_in(context, live_server: str, device_cookie: tuple[str, str], badge: str, pin: str):
    """A new page on a registered tablet, signed in with badge and PIN; returns the page at the station home."""
    name, token = device_cookie
    context.add_cookies([{"name": name, "value": token, "url": live_server}])
    page = context.new_page()
    page.goto(f"{live_server}/login/badge")
    page.get_by_label("Badge").fill(badge)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Sign in").tap()
    return page


def password_sign_in(context, live_server: str, username: str, password: str):
    """A new page signed in with username and password."""
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").tap()
    return page
