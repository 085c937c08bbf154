"""What GitHub's API answers, in the shapes its description gives: the fields it marks
required, and the bodies of its errors (`basic-error`: message, documentation_url, status;
`validation-error`: the same plus `errors[]`)."""

from __future__ import annotations

from typing import Any

from tests.fakes.server import Reply

DOCS = "https://docs.github.com/rest"

# The top-level fields the API description marks required for `pull-request-simple` (what
# pulls/list returns) and, with the rest, for `pull-request` (pulls/get, create, update).
SIMPLE_PULL_FIELDS = (
    "_links",
    "assignee",
    "labels",
    "base",
    "body",
    "closed_at",
    "comments_url",
    "commits_url",
    "created_at",
    "diff_url",
    "head",
    "html_url",
    "id",
    "node_id",
    "issue_url",
    "merge_commit_sha",
    "merged_at",
    "milestone",
    "number",
    "patch_url",
    "review_comment_url",
    "review_comments_url",
    "statuses_url",
    "state",
    "locked",
    "title",
    "updated_at",
    "url",
    "user",
    "author_association",
    "auto_merge",
)
FULL_PULL_FIELDS = (
    *SIMPLE_PULL_FIELDS,
    "additions",
    "changed_files",
    "comments",
    "commits",
    "deletions",
    "mergeable",
    "mergeable_state",
    "merged",
    "maintainer_can_modify",
    "merged_by",
    "review_comments",
)
CONTENT_FILE_FIELDS = (
    "_links",
    "git_url",
    "html_url",
    "download_url",
    "name",
    "path",
    "sha",
    "size",
    "type",
    "url",
    "content",
    "encoding",
)
GIT_REF_FIELDS = ("ref", "node_id", "url", "object")


def error(status: int, message: str) -> Reply:
    return Reply(status, {"message": message, "documentation_url": DOCS, "status": str(status)})


def validation(errors: list[dict[str, Any]], message: str = "Validation Failed") -> Reply:
    return Reply(
        422,
        {"message": message, "errors": errors, "documentation_url": DOCS, "status": "422"},
    )


def invalid(message: str, field_name: str, *, code: str = "invalid") -> Reply:
    return Reply(
        422,
        {
            "message": message,
            "errors": [{"resource": "Reference", "field": field_name, "code": code}],
            "documentation_url": DOCS,
            "status": "422",
        },
    )


def invalid_field(name: str) -> Reply:
    return validation([{"resource": "PullRequest", "field": name, "code": "invalid"}])


def custom(message: str) -> Reply:
    return validation([{"resource": "PullRequest", "code": "custom", "message": message}])


def missing_fields(body: dict[str, Any], names: tuple[str, ...]) -> Reply | None:
    absent = [name for name in names if name not in body]
    if not absent:
        return None
    return validation(
        [{"resource": "Request", "field": name, "code": "missing_field"} for name in absent],
        message=f"Invalid request.\n\n{', '.join(repr(n) for n in absent)} wasn't supplied.",
    )


def user_object(login: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": abs(hash(login)) % 100000,
        "node_id": f"U_{login}",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "site_admin": False,
        "html_url": f"https://github.com/{login}",
    }


def label_object(name: str) -> dict[str, Any]:
    return {
        "id": abs(hash(name)) % 100000,
        "node_id": f"LA_{name}",
        "url": f"https://api.github.com/labels/{name}",
        "name": name,
        "description": None,
        "color": "ededed",
        "default": False,
    }
