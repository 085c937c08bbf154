"""The GitHub client against the loopback stand-in backed by a bare git repository."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.errors import ConfigError
from newsletter.github import GitHub, Repository
from newsletter.github_errors import GitHubConflict, GitHubError, GitHubSetupError
from tests.fakes.github import NOT_ACCESSIBLE, NOT_PERMITTED, GitHubFake
from tests.fakes.helpers import SleepRecorder

TOKEN = "ghs_review-token-DO-NOT-LEAK"
BRANCH = "newsletter/review"
PNG = bytes(range(256)) * 40  # binary, and long enough for GitHub's wrapped Base64


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[GitHubFake]:
    with GitHubFake(tmp_path, token=TOKEN) as server:
        server.seed({"README.md": b"My blog\n", "state/ledger.json": b"{}\n"})
        yield server


def client(fake: GitHubFake, *, token: str = TOKEN, sleep: SleepRecorder | None = None) -> GitHub:
    repository = Repository.from_environment(
        {"GITHUB_API_URL": fake.url, "GITHUB_REPOSITORY": "author/blog", "GITHUB_TOKEN": token}
    )
    return GitHub(repository, sleep=sleep or SleepRecorder())


def branch_with_a_commit(fake: GitHubFake, github: GitHub) -> str:
    base = github.branch_sha("main")
    assert base is not None
    github.create_branch(BRANCH, base)
    return github.write_file(
        "state/review/issue.json", b"{}\n", branch=BRANCH, message="Review", sha=None
    )


# --- environment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"GITHUB_REPOSITORY": "author/blog"}, "GITHUB_TOKEN"),
        ({"GITHUB_TOKEN": TOKEN}, "GITHUB_REPOSITORY"),
        ({"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "just-a-name"}, "GITHUB_REPOSITORY"),
        (
            {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "a/b", "GITHUB_API_URL": "ftp://x"},
            "GITHUB_API_URL",
        ),
    ],
)
def test_a_missing_or_bad_variable_is_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as caught:
        Repository.from_environment(environ)
    assert TOKEN not in caught.value.message


@pytest.mark.parametrize(
    "address",
    [
        "http://github.example.org/api/v3",  # the token would cross the network in clear
        "https://x-access-token:ghs_other@github.example.org/api/v3",  # printed in errors
    ],
)
def test_an_api_address_that_would_expose_a_token_is_refused(address: str) -> None:
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "a/b", "GITHUB_API_URL": address}
    with pytest.raises(ConfigError, match="GITHUB_API_URL") as caught:
        Repository.from_environment(environ)
    assert TOKEN not in caught.value.message and "ghs_other" not in caught.value.message


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "[::1]:8080", "localhost:8080"])
def test_plain_http_is_for_this_machine_only(host: str) -> None:
    environ = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "a/b",
        "GITHUB_API_URL": f"http://{host}",
    }
    assert Repository.from_environment(environ).api_url == f"http://{host}"


def test_the_api_address_defaults_to_github_com() -> None:
    repository = Repository.from_environment({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "a/b"})
    assert repository.api_url == "https://api.github.com"


# --- branches and files -----------------------------------------------------------------------


def test_branches_are_created_read_and_moved(fake: GitHubFake) -> None:
    github = client(fake)
    assert github.branch_sha(BRANCH) is None
    base = github.branch_sha("main")
    assert base == fake.branch_sha("main")
    assert base is not None
    github.create_branch(BRANCH, base)
    assert fake.branch_sha(BRANCH) == base
    ahead = github.write_file("a.txt", b"a\n", branch=BRANCH, message="a", sha=None)
    assert github.branch_sha(BRANCH) == ahead

    with pytest.raises(GitHubConflict, match="not a fast forward"):
        github.move_branch(BRANCH, base, force=False)
    github.move_branch(BRANCH, base, force=True)
    assert fake.branch_sha(BRANCH) == base


def test_creating_a_branch_twice_is_a_conflict(fake: GitHubFake) -> None:
    github = client(fake)
    base = github.branch_sha("main")
    assert base is not None
    github.create_branch(BRANCH, base)
    with pytest.raises(GitHubConflict, match="already exists"):
        github.create_branch(BRANCH, base)


def test_files_round_trip_byte_for_byte_and_each_write_is_a_commit(fake: GitHubFake) -> None:
    github = client(fake)
    base = github.branch_sha("main")
    assert base is not None
    github.create_branch(BRANCH, base)

    first = github.write_file("state/review/shot.png", PNG, branch=BRANCH, message="m", sha=None)
    read = github.read_file("state/review/shot.png", BRANCH)
    assert read is not None
    data, blob = read
    assert data == PNG
    assert fake.file(BRANCH, "state/review/shot.png") == PNG
    assert fake.git("rev-parse", f"{first}~1") == base

    second = github.write_file(
        "state/review/shot.png", b"new", branch=BRANCH, message="m", sha=blob
    )
    assert fake.git("rev-parse", f"{second}~1") == first
    assert github.read_file("state/review/shot.png", first) == (PNG, blob), "read at a commit"
    assert github.read_file("state/review/absent.png", BRANCH) is None


def test_replacing_a_file_needs_its_current_blob_sha(fake: GitHubFake) -> None:
    github = client(fake)
    with pytest.raises(GitHubConflict, match="sha") as missing:
        github.write_file("README.md", b"x", branch="main", message="m", sha=None)
    assert missing.value.status == 422
    with pytest.raises(GitHubConflict, match="does not match") as stale:
        github.write_file("README.md", b"x", branch="main", message="m", sha="0" * 40)
    assert stale.value.status == 409
    assert fake.file("main", "README.md") == b"My blog\n"


# --- pull requests ----------------------------------------------------------------------------


def test_a_pull_request_is_opened_found_and_updated(fake: GitHubFake) -> None:
    github = client(fake)
    branch_with_a_commit(fake, github)

    opened = github.create_pull(head=BRANCH, base="main", title="Issue", body="Look")
    assert opened.is_open and not opened.merged
    assert opened.html_url.endswith(f"/pull/{opened.number}")
    (found,) = github.pulls_from(BRANCH)
    assert found.number == opened.number
    assert found.head_sha == fake.branch_sha(BRANCH)
    list_request = next(r for r in fake.requests if r.path.endswith("/pulls") and r.method == "GET")
    assert list_request.query["head"] == ["author:" + BRANCH], "GitHub ignores a bare branch"

    updated = github.update_pull(opened.number, title="Issue, again", body="Look again")
    assert (updated.title, updated.body) == ("Issue, again", "Look again")
    github.comment(opened.number, "Updated")
    assert fake.pulls[opened.number].comments == ["Updated"]


def test_other_branches_pull_requests_are_not_ours(fake: GitHubFake) -> None:
    github = client(fake)
    base = fake.branch_sha("main")
    assert base is not None
    fake.git("update-ref", "refs/heads/new-theme", base)
    fake.commit("new-theme", {"theme.css": b"body{}"}, "Theme")
    github.create_pull(head="new-theme", base="main", title="Theme", body="")
    assert github.pulls_from(BRANCH) == []


def test_a_second_open_pull_request_for_the_branch_is_refused(fake: GitHubFake) -> None:
    github = client(fake)
    branch_with_a_commit(fake, github)
    github.create_pull(head=BRANCH, base="main", title="Issue", body="")
    with pytest.raises(GitHubConflict, match="already exists"):
        github.create_pull(head=BRANCH, base="main", title="Issue", body="")
    assert len(fake.open_pulls()) == 1


def test_a_branch_without_commits_cannot_be_reviewed(fake: GitHubFake) -> None:
    github = client(fake)
    base = github.branch_sha("main")
    assert base is not None
    github.create_branch(BRANCH, base)
    with pytest.raises(GitHubConflict, match="No commits between main and"):
        github.create_pull(head=BRANCH, base="main", title="Issue", body="")


def test_merged_and_closed_pull_requests_are_told_apart(fake: GitHubFake) -> None:
    github = client(fake)
    branch_with_a_commit(fake, github)
    merged = github.create_pull(head=BRANCH, base="main", title="One", body="")
    merge_commit = fake.merge(merged.number)
    assert fake.file("main", "state/review/issue.json") == b"{}\n"

    fake.commit(BRANCH, {"state/review/issue.json": b"[2]\n"}, "Two")
    closed = github.create_pull(head=BRANCH, base="main", title="Two", body="")
    fake.close(closed.number)

    newest, oldest = github.pulls_from(BRANCH, state="all")
    assert (newest.number, newest.state, newest.merged) == (closed.number, "closed", False)
    assert (oldest.number, oldest.merged) == (merged.number, True)
    assert oldest.merge_commit_sha == merge_commit
    assert github.pulls_from(BRANCH) == []


# --- refusals, each one sentence that says what to change ---------------------------------------


def test_the_repository_setting_that_stops_actions_is_named(fake: GitHubFake) -> None:
    fake.actions_may_open_pull_requests = False
    github = client(fake)
    branch_with_a_commit(fake, github)
    with pytest.raises(GitHubSetupError) as caught:
        github.create_pull(head=BRANCH, base="main", title="Issue", body="")
    message = caught.value.message
    assert "Settings → Actions → General → Workflow permissions" in message
    assert "Allow GitHub Actions to create and approve pull requests" in message
    assert caught.value.exit_code == 2
    assert NOT_PERMITTED not in message, "plain words, not GitHub's"


def test_a_job_without_the_permission_is_told_which_to_add(tmp_path: Path) -> None:
    with GitHubFake(tmp_path, token=TOKEN, permissions={"contents": "write"}) as fake:
        fake.seed({"README.md": b"x"})
        github = client(fake)
        with pytest.raises(GitHubSetupError, match="pull-requests: write") as caught:
            github.pulls_from(BRANCH)
    assert NOT_ACCESSIBLE in caught.value.message


def test_a_wrong_token_is_refused_without_showing_it(fake: GitHubFake) -> None:
    wrong = "ghs_wrong-token-DO-NOT-LEAK"
    with pytest.raises(GitHubSetupError, match="Bad credentials") as caught:
        client(fake, token=wrong).branch_sha("main")
    assert wrong not in caught.value.message
    assert TOKEN not in caught.value.message


def test_a_rate_limit_waits_until_the_reset_then_goes_on(fake: GitHubFake) -> None:
    sleep = SleepRecorder()
    fake.fail_next(
        403,
        {"message": "API rate limit exceeded", "documentation_url": "x"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 30)},
    )
    assert client(fake, sleep=sleep).branch_sha("main") == fake.branch_sha("main")
    (pause,) = sleep.pauses
    assert 25 <= pause <= 31


def test_a_secondary_rate_limit_honours_retry_after(fake: GitHubFake) -> None:
    sleep = SleepRecorder()
    fake.fail_next(
        403,
        {"message": "You have exceeded a secondary rate limit.", "documentation_url": "x"},
        {"retry-after": "7"},
    )
    assert client(fake, sleep=sleep).branch_sha("main") is not None
    assert sleep.pauses == [7.0]


def test_a_server_error_is_retried_then_reported(fake: GitHubFake) -> None:
    sleep = SleepRecorder()
    fake.fail_next(503, {"message": "Service unavailable"}, times=3)
    with pytest.raises(GitHubError, match="HTTP 503") as caught:
        client(fake, sleep=sleep).branch_sha("main")
    assert not isinstance(caught.value, ConfigError)
    assert len(sleep.pauses) == 2


def test_an_unreachable_api_is_one_sentence() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    repository = Repository("https://api.example.invalid", "author", "blog", TOKEN)
    github = GitHub(repository, transport=httpx.MockTransport(refuse), sleep=SleepRecorder())
    with pytest.raises(GitHubError, match="Cannot reach GitHub") as caught:
        github.branch_sha("main")
    assert TOKEN not in caught.value.message
