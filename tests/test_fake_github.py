"""The GitHub stand-in itself: it must answer in GitHub's documented shapes and refuse what
GitHub refuses, or the review tests would prove nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.github import GitHubFake
from tests.fakes.github_shapes import (
    CONTENT_FILE_FIELDS,
    FULL_PULL_FIELDS,
    GIT_REF_FIELDS,
    SIMPLE_PULL_FIELDS,
)

TOKEN = "ghs_fake-check"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": "blog-newsletter-tests",
}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[GitHubFake]:
    with GitHubFake(tmp_path, token=TOKEN) as server:
        server.seed({"README.md": b"hello\n"})
        yield server


def call(fake: GitHubFake, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**HEADERS, **kwargs.pop("headers", {})}
    headers = {name: value for name, value in headers.items() if value is not None}
    with httpx.Client(base_url=f"{fake.url}/repos/author/blog") as client:
        client.headers.pop("User-Agent", None)
        return client.request(method, path, headers=headers, **kwargs)


def review_branch(fake: GitHubFake) -> None:
    base = fake.branch_sha("main")
    assert base is not None
    fake.git("update-ref", "refs/heads/review", base)
    fake.commit("review", {"issue.json": b"{}"}, "Review")


def assert_basic_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert message in body["message"]
    assert body["documentation_url"].startswith("https://docs.github.com")
    assert body["status"] == str(status)


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({"Authorization": None}, 401, "Requires authentication"),
        ({"Authorization": "Bearer wrong"}, 401, "Bad credentials"),
        ({"Authorization": f"Basic {TOKEN}"}, 401, "Bad credentials"),
        ({"User-Agent": None}, 403, "User-Agent"),
        ({"X-GitHub-Api-Version": "2020-01-01"}, 400, "not supported"),
    ],
    ids=["no-token", "wrong-token", "wrong-scheme", "no-user-agent", "unknown-version"],
)
def test_requests_github_would_not_accept(
    fake: GitHubFake, headers: dict[str, str | None], status: int, message: str
) -> None:
    assert_basic_error(call(fake, "GET", "/git/ref/heads/main", headers=headers), status, message)


def test_the_older_token_scheme_is_accepted(fake: GitHubFake) -> None:
    response = call(fake, "GET", "/git/ref/heads/main", headers={"Authorization": f"token {TOKEN}"})
    assert response.status_code == 200


def test_another_repository_is_not_found(fake: GitHubFake) -> None:
    with httpx.Client(base_url=f"{fake.url}/repos/someone/else", headers=HEADERS) as client:
        assert_basic_error(client.get("/git/ref/heads/main"), 404, "Not Found")


def test_answers_carry_the_fields_the_description_requires(fake: GitHubFake) -> None:
    review_branch(fake)
    ref = call(fake, "GET", "/git/ref/heads/main").json()
    assert set(GIT_REF_FIELDS) <= set(ref) and len(ref["object"]["sha"]) == 40
    content = call(fake, "GET", "/contents/README.md", params={"ref": "main"}).json()
    assert set(CONTENT_FILE_FIELDS) <= set(content)
    assert base64.b64decode(content["content"]) == b"hello\n"
    created = call(fake, "POST", "/pulls", json={"head": "review", "base": "main", "title": "t"})
    assert created.status_code == 201
    assert set(FULL_PULL_FIELDS) <= set(created.json())
    listed = call(fake, "GET", "/pulls").json()
    assert set(SIMPLE_PULL_FIELDS) <= set(listed[0])
    assert "merged" not in listed[0], "pull-request-simple has only merged_at"


def test_a_bare_head_filter_is_ignored_as_github_does(fake: GitHubFake) -> None:
    review_branch(fake)
    call(fake, "POST", "/pulls", json={"head": "review", "base": "main", "title": "t"})
    assert len(call(fake, "GET", "/pulls", params={"head": "someone-else"}).json()) == 1
    assert call(fake, "GET", "/pulls", params={"head": "author:someone-else"}).json() == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/git/refs", {"ref": "refs/heads/x"}, 422, "wasn't supplied"),
        ("POST", "/git/refs", {"ref": "heads/x", "sha": "0" * 40}, 422, "invalid"),
        ("POST", "/git/refs", {"ref": "refs/heads/x", "sha": "0" * 40}, 422, "does not exist"),
        ("PATCH", "/git/refs/heads/nope", {"sha": "0" * 40}, 422, "does not exist"),
        ("PUT", "/contents/a.txt", {"message": "m"}, 422, "wasn't supplied"),
        ("PUT", "/contents/a.txt", {"message": "m", "content": "%%%"}, 422, "Base64"),
        ("PUT", "/contents/a.txt", {"message": "m", "content": "", "branch": "no"}, 404, "no"),
        ("POST", "/pulls", {"head": "review"}, 422, "wasn't supplied"),
        ("POST", "/pulls", {"head": "review", "base": "main"}, 422, "title"),
        ("POST", "/pulls", {"head": "nope", "base": "main", "title": "t"}, 422, "Validation"),
        ("POST", "/issues/99/comments", {"body": "x"}, 404, "Not Found"),
    ],
)
def test_invalid_requests_get_githubs_status_and_error_body(
    fake: GitHubFake, method: str, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    review_branch(fake)
    response = call(fake, method, path, json=body)
    assert response.status_code == status
    assert message in response.text
    assert "documentation_url" in response.json()


def test_malformed_json_is_a_parse_error(fake: GitHubFake) -> None:
    response = call(fake, "POST", "/pulls", content=b"{not json")
    assert_basic_error(response, 400, "Problems parsing JSON")


def test_a_closed_review_cannot_be_reopened_while_another_is_open(fake: GitHubFake) -> None:
    review_branch(fake)
    first = call(fake, "POST", "/pulls", json={"head": "review", "base": "main", "title": "1"})
    fake.close(first.json()["number"])
    call(fake, "POST", "/pulls", json={"head": "review", "base": "main", "title": "2"})
    reopened = call(fake, "PATCH", f"/pulls/{first.json()['number']}", json={"state": "open"})
    assert reopened.status_code == 422
    assert "already exists" in reopened.text


def test_a_merge_is_a_real_merge_commit_on_the_base(fake: GitHubFake) -> None:
    review_branch(fake)
    before = fake.branch_sha("main")
    number = call(fake, "POST", "/pulls", json={"head": "review", "base": "main", "title": "t"})
    merge = fake.merge(number.json()["number"])
    assert fake.git("rev-parse", f"{merge}^1") == before
    assert fake.git("rev-parse", f"{merge}^2") == fake.branch_sha("review")
    pull = call(fake, "GET", f"/pulls/{number.json()['number']}").json()
    assert (pull["state"], pull["merged"], pull["merge_commit_sha"]) == ("closed", True, merge)
