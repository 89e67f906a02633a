"""The password policy (compliance.md SEC-AUTH-1, after NIST SP 800-63B): long enough, not one of the passwords
anyone guessing tries first, not built from the person's own names or the plant's. No composition rules (a
few plain words beat "P@ssw0rd!"), any characters, pasting allowed, never truncated: argon2 hashes all of it.
"""
import re
from collections.abc import Iterable

from sqlalchemy import select

from app.extensions import db
from app.models import Site

MIN_LENGTH = 10
MAX_LENGTH = 256  # the sign-in and password forms take this many characters

# Passwords at the top of every published count of leaked ones, and the words a plant's people would reach
# for first; compared without case and without the digits and signs people add at the end ("Password2024!").
COMMON = frozenset("""
password passw0rd p@ssword p@ssw0rd qwerty qwertyuiop qwertz azerty asdfgh asdfghjkl zxcvbnm letmein welcome
admin administrator root changeme default secret login master shadow trustno iloveyou monkey dragon football
baseball soccer hockey sunshine princess superman batman starwars whatever freedom hello charlie jordan michael
jennifer computer internet summer winter spring autumn january december monday friday abc abcdef qazwsx
zaq1zaq1 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qaz2wsx3edc qweasd qweasdzxc mustang access flower killer pepper
ginger cheese buster hunter ranger thomas robert daniel matrix silver golden diamond orange banana chocolate
floorbook operator inspector supervisor auditor factory plant production quality maintenance manager
""".split())
_RUNS = ("01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn")


def problems(password: str, context: Iterable[str] = ()) -> list[str]:
    """What keeps `password` from being used as a new password (empty when it may be): `context` holds
    the words it must not be built from (the username, the printed name, the site's name)."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"Use at least {MIN_LENGTH} characters: a few words are easy to remember and hard to guess.")
    if len(password) > MAX_LENGTH:
        found.append(f"Use at most {MAX_LENGTH} characters.")
    folded = password.casefold()
    core = re.sub(r"[\W\d_]+$", "", folded) or folded  # what is left without the digits and signs at the end
    if {folded, core} & COMMON or len(set(folded)) <= 3 or _is_a_run(folded):
        found.append("This is one of the passwords tried first by anyone guessing: choose another.")
    for word in context:
        if len(word) >= 4 and word.casefold() in folded:
            found.append(f"Do not build it from “{word}”: that is the first thing someone would try.")
            break
    return found


def _is_a_run(folded: str) -> bool:
    """Keys or digits in a row ("1234567890", "qwertyuiop", "zyxwvutsrq"), however long."""
    text = re.sub(r"\s+", "", folded)
    return len(text) >= 4 and any(text in run or text in run[::-1] for run in _RUNS)


def context_words(username: str, printed_name: str, site_name: str | None) -> list[str]:
    """The words a person's password must not contain: their username, each part of their printed name, the
    site's name and each of its words, and the product's name."""
    words = [username, *re.split(r"[\s.,'-]+", printed_name)]
    if site_name:
        words += [site_name, *site_name.split()]
    return [word for word in words if word] + ["floorbook"]


def problems_for(password: str, username: str, printed_name: str) -> list[str]:
    """problems() of a person's new password, with their names and the site's as its context."""
    return problems(password, context_words(username, printed_name, db.session.scalar(select(Site.name))))
