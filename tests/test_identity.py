"""Post identity: the spellings of one permalink compare equal, different posts never do."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from newsletter.identity import link_keys, permalink, post_key, same_post
from newsletter.models import Post
from newsletter.urls import normalise_link


def make_post(id: str = "", link: str = "", orig_link: str | None = None) -> Post:
    return Post(
        id=id,
        link=link,
        title="A post",
        author=None,
        published=None,
        updated=None,
        html="",
        orig_link=orig_link,
    )


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("http://example.org/2026/11/hello/", "https://example.org/2026/11/hello"),
        ("https://www.example.org/2026/11/hello", "https://example.org/2026/11/hello"),
        ("HTTPS://Example.ORG/2026/11/hello", "https://example.org/2026/11/hello"),
        ("https://example.org:443/2026/11/hello", "https://example.org/2026/11/hello"),
        ("http://example.org:80/2026/11/hello", "https://example.org/2026/11/hello"),
        ("https://example.org/2026/11/hello#comments", "https://example.org/2026/11/hello"),
        (
            "https://example.org/2026/11/hello?utm_source=rss&utm_medium=rss&UTM_Campaign=x",
            "https://example.org/2026/11/hello",
        ),
        ("https://example.org/hello?fbclid=IwAR0abc&gclid=xyz", "https://example.org/hello"),
        ("https://example.org/hello?mc_cid=1a2b&mc_eid=3c4d", "https://example.org/hello"),
        (
            "https://medium.com/@writer/hello-1a2b3c?source=rss-9f8e7d------2",
            "https://medium.com/@writer/hello-1a2b3c",
        ),
        ("https://example.org/?p=123&utm_source=feed", "https://example.org?p=123"),
        ("https://example.org/search?b=2&a=1", "https://example.org/search?a=1&b=2"),
        ("https://example.org/%7eanna/caf%c3%a9", "https://example.org/~anna/caf%C3%A9"),
        ("https://example.org/~anna/café", "https://example.org/~anna/caf%C3%A9"),
        ("https://bücher.example/neu", "https://xn--bcher-kva.example/neu"),
        ("  https://example.org/hello\n", "https://example.org/hello"),
        ("//example.org/hello/", "https://example.org/hello"),
        ("https://user:secret@example.org/hello", "https://example.org/hello"),
    ],
)
def test_spellings_of_one_permalink_normalise_alike(variant: str, canonical: str) -> None:
    assert normalise_link(variant) == canonical


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://example.org/2026/11/hello", "https://example.org/2026/11/hello-again"),
        ("https://example.org/About", "https://example.org/about"),
        ("https://example.org/?p=123", "https://example.org/?p=124"),
        ("https://example.org/hello", "https://example.org:8080/hello"),
        ("https://example.org/hello", "https://example.net/hello"),
        ("https://blog.example.org/hello", "https://example.org/hello"),
        ("https://example.org/a%2Fb", "https://example.org/a/b"),
    ],
)
def test_different_posts_stay_different(one: str, other: str) -> None:
    assert normalise_link(one) != normalise_link(other)


@pytest.mark.parametrize(
    "text",
    [
        "tag:example.org,2026:post-1",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "/2026/11/hello/",
        "http://[::1",
        "https://example.org:notaport/x",
        "",
    ],
)
def test_what_is_not_a_web_link_is_only_stripped(text: str) -> None:
    assert normalise_link(f" {text} ") == text


def test_a_post_is_known_by_its_link_and_feedburner_link() -> None:
    post = make_post(
        id="tag:example.org,2026:1",
        link="https://feedproxy.google.com/~r/example/~3/abc/",
        orig_link="http://www.example.org/hello/",
    )
    assert link_keys(post) == {
        "https://feedproxy.google.com/~r/example/~3/abc",
        "https://example.org/hello",
    }
    assert permalink(post) == "http://www.example.org/hello/"


def test_the_recorded_key_is_the_guid_else_the_link() -> None:
    assert post_key(make_post(id=" guid-1 ", link="https://example.org/a")) == "guid-1"
    assert post_key(make_post(id="", link="https://example.org/a")) == "https://example.org/a"
    assert post_key(make_post()) == ""
    assert link_keys(make_post(id="guid-only")) == frozenset()


def test_same_post_accepts_the_id_or_any_spelling_of_the_link() -> None:
    post = make_post(id="tag:example.org,2026:1", link="https://example.org/hello/")
    assert same_post(post, "tag:example.org,2026:1")
    assert same_post(post, "http://www.example.org/hello?utm_source=x")
    assert not same_post(post, "https://example.org/hello-again")
    assert not same_post(post, "  ")


# --- properties --------------------------------------------------------------------------

_label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_hosts = st.lists(_label, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "org"]))
_segment = st.text(string.ascii_letters + string.digits + "-_~é", min_size=1, max_size=8)
_paths = st.lists(_segment, max_size=4)
_params = st.lists(
    st.tuples(
        st.sampled_from(["p", "page", "lang", "id"]), st.text(string.ascii_letters, max_size=5)
    ),
    max_size=3,
    unique_by=lambda pair: pair[0],
)
_tracking = st.lists(
    st.tuples(
        st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "fbclid", "gclid", "mc_eid"]),
        st.text(string.ascii_letters + string.digits, min_size=1, max_size=6),
    ),
    max_size=3,
)


def _url(
    scheme: str,
    host: str,
    segments: list[str],
    params: list[tuple[str, str]],
    slash: bool = False,
    fragment: str = "",
) -> str:
    path = "/" + "/".join(segments) + ("/" if slash and segments else "")
    query = "&".join(f"{name}={value}" for name, value in params)
    return (
        f"{scheme}://{host}{path}"
        + (f"?{query}" if query else "")
        + (f"#{fragment}" if fragment else "")
    )


@given(st.text())
def test_normalising_any_text_twice_changes_nothing(text: str) -> None:
    once = normalise_link(text)
    assert normalise_link(once) == once


@given(_hosts, _paths, _params, _tracking)
def test_normalising_a_link_twice_changes_nothing(
    host: str,
    segments: list[str],
    params: list[tuple[str, str]],
    tracking: list[tuple[str, str]],
) -> None:
    once = normalise_link(_url("http", f"www.{host}", segments, params + tracking, slash=True))
    assert normalise_link(once) == once


@given(
    _hosts,
    _paths,
    _params,
    _tracking,
    st.sampled_from(["http", "https", "HTTPS"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.text(string.ascii_letters + "-", max_size=6),
    st.data(),
)
def test_a_permalink_is_the_same_under_every_cosmetic_change(
    host: str,
    segments: list[str],
    params: list[tuple[str, str]],
    tracking: list[tuple[str, str]],
    scheme: str,
    www: bool,
    slash: bool,
    upper_host: bool,
    fragment: str,
    data: st.DataObject,
) -> None:
    canonical = normalise_link(_url("https", host, segments, params))
    shuffled = data.draw(st.permutations([*params, *tracking]))
    spelled_host = ("www." if www else "") + (host.upper() if upper_host else host)
    variant = _url(scheme, spelled_host, segments, shuffled, slash=slash, fragment=fragment)
    assert normalise_link(variant) == canonical


@pytest.mark.slow
@given(_hosts, _paths, _paths)
def test_distinct_paths_stay_distinct(host: str, one: list[str], other: list[str]) -> None:
    assume(one != other)
    assert normalise_link(_url("https", host, one, [])) != normalise_link(
        _url("https", host, other, [])
    )


@pytest.mark.slow
@given(_hosts, _paths, _params, _params)
def test_distinct_queries_stay_distinct(
    host: str, segments: list[str], one: list[tuple[str, str]], other: list[tuple[str, str]]
) -> None:
    assume(sorted(one) != sorted(other))
    assert normalise_link(_url("https", host, segments, one)) != normalise_link(
        _url("https", host, segments, other)
    )
