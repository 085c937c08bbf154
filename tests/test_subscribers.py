"""The subscribers file read row by row: which rows count, what each line is called, and the
`To` header of each subscriber (issue 18 made these cheaper; what they give is unchanged)."""

from __future__ import annotations

from email.utils import formataddr

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newsletter.errors import ConfigError
from newsletter.providers.subscribers import Subscriber, parse_subscribers


def people(text: str) -> list[tuple[str, str]]:
    return [(s.email, s.name) for s in parse_subscribers(text, source="s.csv").subscribers]


def reasons(text: str) -> list[tuple[str, str]]:
    return [(r.address, r.reason) for r in parse_subscribers(text, source="s.csv").skipped]


def test_blank_lines_are_skipped_and_lines_keep_their_numbers() -> None:
    text = "email,name\n\nada@example.org,Ada\n\n\nnope,Bob\n,Carol\n"
    assert people(text) == [("ada@example.org", "Ada")]
    assert reasons(text) == [
        ("nope", "line 6: An email address must have an @-sign."),
        ("", "line 7: no email address"),
    ]


def test_a_row_without_an_address_is_quiet_unless_its_other_columns_say_something() -> None:
    text = "email,name\nada@example.org,Ada\n,\n ,  \n,,stray beyond the header\n"
    assert people(text) == [("ada@example.org", "Ada")]
    assert reasons(text) == []


def test_short_rows_and_cells_past_the_header() -> None:
    text = "name,email\nAda\nBob,bob@example.org,extra,cells\n"
    assert people(text) == [("bob@example.org", "Bob")]
    assert reasons(text) == [("", "line 2: no email address")]


def test_header_names_ignore_case_and_spaces_and_a_repeated_name_means_its_last_column() -> None:
    text = " Email ,NAME,email\nfirst@example.org,Ada,second@example.org\n"
    assert people(text) == [("second@example.org", "Ada")]


def test_no_name_column_sends_bare_addresses() -> None:
    assert people("email\nada@example.org\n") == [("ada@example.org", "")]


def test_a_blank_first_line_is_a_header_that_names_no_column() -> None:
    with pytest.raises(ConfigError, match="no 'email' column"):
        parse_subscribers("\nemail,name\nada@example.org,Ada\n", source="s.csv")


def test_an_empty_file_has_no_email_column() -> None:
    with pytest.raises(ConfigError, match="no 'email' column"):
        parse_subscribers("", source="s.csv")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('"email,name\nada@example.org,Ada\n', 1),
        ('email,name\nada@example.org,Ada\n\n\nbob@example.org,"Bob\n', 3),
        ('email,name\nada@example.org,"Ada" x\n', 2),
    ],
)
def test_malformed_csv_names_the_line_after_the_last_good_row(text: str, line: int) -> None:
    with pytest.raises(ConfigError, match=rf"s\.csv is not valid CSV from line {line} on"):
        parse_subscribers(text, source="s.csv")


def test_names_are_collapsed_to_single_spaces() -> None:
    assert people('email,name\nada@example.org,"  Ada \t  Lovelace "\n') == [
        ("ada@example.org", "Ada Lovelace")
    ]


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(codec="ascii"), max_size=30))
@example("Ada Lovelace")
@example('Ada "The Countess"')
@example("O'Brien, Pat")
@example("back\\slash")
@example("dot. [square] (round) <angle> @ : ;")
def test_the_to_header_of_an_ascii_name_is_formataddrs(name: str) -> None:
    subscriber = Subscriber("reader@example.org", name)
    assert subscriber.to_header == formataddr((name, "reader@example.org"))


@pytest.mark.parametrize(
    ("subscriber", "header"),
    [
        (Subscriber("zoe@example.org", "Zoë"), "=?utf-8?q?Zo=C3=AB?= <zoe@example.org>"),
        (Subscriber("zoë@example.org", 'Zoë "Z"'), '"Zoë \\"Z\\"" <zoë@example.org>'),
        (Subscriber("ada@example.org"), "ada@example.org"),
    ],
)
def test_the_to_header_beyond_ascii(subscriber: Subscriber, header: str) -> None:
    assert subscriber.to_header == header
    assert subscriber.to_header is subscriber.to_header  # worked out once
