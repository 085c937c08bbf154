"""Opening and updating the one review pull request, against the GitHub stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.github import GitHub, Repository
from newsletter.github_errors import GitHubSetupError
from newsletter.review.publish import BRANCH, publish
from tests.fakes.github import GitHubFake
from tests.fakes.helpers import SleepRecorder
from tests.fakes.server import Request

TOKEN = "ghs_publish-DO-NOT-LEAK"
ISSUE = "state/review/issue.json"
HTML = "state/review/email-1.html"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[GitHubFake]:
    with GitHubFake(tmp_path, token=TOKEN) as server:
        server.seed({"newsletter.toml": b"[review]\n", "state/ledger.json": b"{}\n"})
        yield server


@pytest.fixture
def github(fake: GitHubFake) -> GitHub:
    repository = Repository(fake.url, "author", "blog", TOKEN)
    return GitHub(repository, sleep=SleepRecorder())


def files(version: str) -> dict[str, bytes]:
    return {ISSUE: f'{{"v": "{version}"}}\n'.encode(), HTML: f"<p>{version}</p>".encode()}


def run(github: GitHub, version: str):  # type: ignore[no-untyped-def]
    return publish(
        github,
        base="main",
        files=files(version),
        title=f"Issue {version}",
        body=lambda commit: f"Pictures at {commit}",
        update_note=f"Updated to {version}",
    )


def test_the_first_review_opens_a_pull_request_with_its_files(
    fake: GitHubFake, github: GitHub
) -> None:
    published = run(github, "one")

    assert published is not None and published.created
    pull = fake.pulls[published.pull.number]
    assert (pull.head, pull.base, pull.title) == (BRANCH, "main", "Issue one")
    assert pull.body == f"Pictures at {published.commit}"
    assert fake.branch_sha(BRANCH) == published.commit
    assert fake.file(BRANCH, ISSUE) == b'{"v": "one"}\n'
    assert fake.file(BRANCH, HTML) == b"<p>one</p>"
    assert fake.file(BRANCH, "state/ledger.json") == fake.file("main", "state/ledger.json")
    assert fake.file("main", ISSUE) is None, "nothing reaches main before the merge"


def test_a_second_review_while_one_is_open_updates_it(fake: GitHubFake, github: GitHub) -> None:
    first = run(github, "one")
    fake.commit("main", {"state/ledger.json": b'{"runs": 1}\n'}, "Ledger")  # the workflow's

    second = run(github, "two")

    assert first is not None and second is not None
    assert not second.created
    assert second.pull.number == first.pull.number
    assert len(fake.open_pulls()) == 1
    pull = fake.pulls[first.pull.number]
    assert pull.title == "Issue two"
    assert pull.comments == ["Updated to two"]
    assert fake.file(BRANCH, ISSUE) == b'{"v": "two"}\n'
    # Started again from the base's tip: only the review's own commits are ahead of it.
    assert fake.git("rev-list", "--count", f"main..{BRANCH}") == "2"
    assert fake.git("merge-base", "main", BRANCH) == fake.branch_sha("main")


def test_after_a_merge_the_next_review_is_a_new_pull_request(
    fake: GitHubFake, github: GitHub
) -> None:
    first = run(github, "one")
    assert first is not None
    fake.merge(first.pull.number)
    assert fake.file("main", ISSUE) == b'{"v": "one"}\n'

    second = run(github, "two")

    assert second is not None and second.created
    assert second.pull.number != first.pull.number
    # The branch held the merged commits; the new review starts from main again.
    assert fake.git("rev-list", "--count", f"main..{BRANCH}") == "2"


def test_after_a_close_the_next_review_opens_again(fake: GitHubFake, github: GitHub) -> None:
    first = run(github, "one")
    assert first is not None
    fake.close(first.pull.number)
    second = run(github, "two")
    assert second is not None and second.created
    assert [pull.number for pull in fake.open_pulls()] == [second.pull.number]


def test_a_file_unchanged_from_the_base_costs_no_commit(fake: GitHubFake, github: GitHub) -> None:
    first = run(github, "one")
    assert first is not None
    fake.merge(first.pull.number)
    published = publish(
        github,
        base="main",
        files={ISSUE: b'{"v": "two"}\n', HTML: b"<p>one</p>"},
        title="t",
        body=str,
        update_note="",
    )
    assert published is not None
    assert fake.git("rev-list", "--count", f"main..{BRANCH}") == "1"


def test_a_review_identical_to_the_base_opens_nothing(fake: GitHubFake, github: GitHub) -> None:
    first = run(github, "one")
    assert first is not None
    fake.merge(first.pull.number)
    assert run(github, "one") is None
    assert fake.open_pulls() == []


def test_a_pull_request_opened_meanwhile_is_updated_not_duplicated(
    fake: GitHubFake, github: GitHub
) -> None:
    raced: list[int] = []

    def another_run_opens_first(request: Request) -> None:
        if request.method == "POST" and request.path.endswith("/pulls") and not raced:
            raced.append(fake.open_pull(BRANCH, "Opened by another run").number)

    fake.before_request = another_run_opens_first
    published = run(github, "one")

    assert published is not None and not published.created
    assert [published.pull.number] == raced
    assert len(fake.open_pulls()) == 1
    assert fake.pulls[raced[0]].title == "Issue one"


def test_a_repository_that_keeps_actions_from_opening_pull_requests(
    fake: GitHubFake, github: GitHub
) -> None:
    fake.actions_may_open_pull_requests = False
    with pytest.raises(GitHubSetupError, match="Allow GitHub Actions to create and approve"):
        run(github, "one")
    assert fake.open_pulls() == []


def test_a_missing_base_branch_is_named(github: GitHub) -> None:
    with pytest.raises(GitHubSetupError, match="The branch trunk does not exist"):
        publish(github, base="trunk", files=files("x"), title="t", body=str, update_note="")
