"""The ASCII fast path never accepts what email-validator refuses, nor changes what it returns."""

from __future__ import annotations

import email_validator
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newsletter.addresses import SPECIAL_USE_DOMAINS, check_address, plain_address
from newsletter.providers.subscribers import parse_subscribers

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
LABEL_CHARS = "abzAZ09-"
ODD = '.@"\\ ()<>[],:;é\u00a0\t'

labels = st.text(LABEL_CHARS, min_size=1, max_size=70)
tops = st.sampled_from(["org", "COM", "io", "test", "local", "a", "c1", "xn--p1ai", "example"])
domains = st.builds(lambda parts, top: ".".join([*parts, top]), st.lists(labels, max_size=4), tops)
locals_ = st.text(ATEXT + ".", min_size=0, max_size=70)
addresses = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", locals_, domains),
    st.text(ATEXT + LABEL_CHARS + ODD, max_size=40),
)


def validator_says(text: str) -> str | None:
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return valid.ascii_email or valid.normalized


@settings(max_examples=1000, deadline=None)
@given(addresses)
@example("Reader.One+news@Mail.Example.ORG")
@example("a" * 64 + "@example.org")
@example("a" * 65 + "@example.org")
@example("x@" + "a" * 63 + ".org")
@example("x@" + "a" * 64 + ".org")
@example("x@a-b.org")
@example("x@-ab.org")
@example("x@ab-.org")
@example("x@ab--cd.org")
@example("x@xn--p1ai.example.org")
@example("x@a-b-c.d--e.org")
@example("x-" + "a" * 61 + "@b-" + "c" * 60 + "d.org")
@example("x@example.test")
@example(".x@example.org")
@example("x.@example.org")
def test_what_the_fast_path_accepts_email_validator_accepts_alike(text: str) -> None:
    fast = plain_address(text)
    if fast is not None:
        assert validator_says(text) == fast


@pytest.mark.parametrize(
    "text",
    [
        "reader@example.org",
        "Reader.One+news@Mail.Example.ORG",
        "o'brien@example.co.uk",
        "first_last-1@sub-domain.example.net",
    ],
)
def test_plain_ascii_addresses_take_the_fast_path(text: str) -> None:
    assert plain_address(text) == validator_says(text)
    assert check_address(text).problem is None


def test_the_special_use_names_cover_email_validators() -> None:
    # A newer email-validator that refuses another name must not see the fast path accept it.
    assert set(email_validator.SPECIAL_USE_DOMAIN_NAMES) <= SPECIAL_USE_DOMAINS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jörg@bücher.example", "jörg@bücher.example"),
        ("reader@xn--bcher-kva.example", "reader@xn--bcher-kva.example"),
        ("reader@bücher.example", "reader@xn--bcher-kva.example"),
    ],
)
def test_other_addresses_go_through_email_validator(text: str, expected: str) -> None:
    assert plain_address(text) is None
    checked = check_address(text)
    assert (checked.address, checked.problem) == (expected, None)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a..b@example.org", "two periods in a row"),
        ("reader@localhost", "should have a period"),
        ("reader@example.test", "special-use or reserved"),
        ('"quoted"@example.org', "Quoting the part before the @-sign is not allowed"),
    ],
)
def test_every_refusal_is_worded_by_email_validator(text: str, words: str) -> None:
    problem = check_address(text).problem
    assert problem is not None and words in problem


def test_a_subscribers_file_mixes_both_paths() -> None:
    listing = parse_subscribers(
        "email,name\nReader@Example.ORG,One\njörg@bücher.example,Two\nbad..dots@example.org,\n",
        source="subscribers.csv",
    )
    assert [s.email for s in listing.subscribers] == [
        "Reader@example.org",
        "jörg@bücher.example",
    ]
    (rejection,) = listing.skipped
    assert rejection.address == "bad..dots@example.org"
    assert "line 4" in rejection.reason and "two periods" in rejection.reason
