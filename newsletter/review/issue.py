"""The review file: one issue of the newsletter, exactly as it will be sent, in plain JSON.

`newsletter review` writes it into `<state folder>/review/issue.json` on the review branch;
merging the pull request brings it to the default branch, where `send --scheduled` reads it
and sends its emails unchanged. The file holds everything the send needs (the emails' subject,
headers, HTML and text, and the posts to record), so what goes out does not depend on the feed
any more: a post edited or deleted after the review changes nothing.

    {"format": 1,
     "destination": "buttondown", "slot": "2026-03-10 08:00 Europe/London",
     "slot_starts": "2026-03-10T08:00:00Z", "created_at": "2026-03-09T08:00:03Z",
     "posts": [{"id", "link", "title", "published"?, "feed"?}],
     "emails": [{"subject", "preheader", "sender", "language", "post_ids", "headers",
                 "html", "text"}],
     "digest": "sha256:<hex of the canonical JSON of everything above>"}

The digest catches a file changed by hand or by a merge that resolved a conflict in it: such a
file is refused rather than sent (docs/schedule-and-review.md, "The review file").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsletter.errors import LedgerError
from newsletter.models import Email, Post

FORMAT = 1
FOLDER = "review"
ISSUE_FILE = "issue.json"


@dataclass(frozen=True)
class ReviewPost:
    id: str
    """The id the ledger records the post under."""
    link: str
    title: str
    published: datetime | None = None
    feed: str = ""
    """The feed it came from, in a newsletter of several feeds (the ledger keeps each feed's
    ids apart); absent from the file otherwise, so older review files keep their digest."""

    def as_post(self) -> Post:
        """A post the ledger can record: the identity is all it reads."""
        return Post(
            id=self.id,
            link=self.link,
            title=self.title,
            author=None,
            published=self.published,
            updated=None,
            html="",
            feed_url=self.feed,
        )


@dataclass(frozen=True)
class ReviewIssue:
    destination: str
    slot: str | None
    """The slot's identity (`schedule.Slot.id`), or None without a [schedule]."""
    slot_starts: datetime | None
    created_at: datetime
    posts: tuple[ReviewPost, ...]
    emails: tuple[Email, ...]

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(_canonical(_content(self))).hexdigest()

    @property
    def subject(self) -> str:
        return self.emails[0].subject if self.emails else ""


def issue_path(state_folder: Path) -> Path:
    return state_folder / FOLDER / ISSUE_FILE


def review_from(
    *,
    destination: str,
    posts: Sequence[Post],
    emails: Sequence[Email],
    slot: str | None,
    slot_starts: datetime | None,
    created_at: datetime,
) -> ReviewIssue:
    return ReviewIssue(
        destination=destination,
        slot=slot,
        slot_starts=_utc(slot_starts) if slot_starts else None,
        created_at=_utc(created_at),
        posts=tuple(
            ReviewPost(
                id=post.id.strip() or post.link.strip(),
                link=(post.orig_link or post.link).strip(),
                title=" ".join(post.title.split()),
                published=_utc(post.published) if post.published else None,
                feed=post.feed_url,
            )
            for post in posts
        ),
        emails=tuple(emails),
    )


def dump_issue(issue: ReviewIssue) -> bytes:
    """The file's bytes: indented JSON, non-ASCII kept readable, the digest last."""
    document = {**_content(issue), "digest": issue.digest}
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def load_issue(data: bytes, where: str) -> ReviewIssue:
    """Read a review file; anything malformed or changed since it was written is a
    LedgerError (exit 2) that names the file."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _broken(where, "it is not JSON") from None
    if not isinstance(document, dict):
        raise _broken(where, "it is not a JSON object")
    if document.get("format") != FORMAT:
        raise LedgerError(
            f"The review file {where} has format {document.get('format')!r}, which this "
            f"version of newsletter does not read (it reads {FORMAT}); upgrade newsletter, or "
            "run `newsletter review` again to write a new review."
        )
    try:
        issue = _parse(document)
    except (KeyError, TypeError, ValueError) as error:
        raise _broken(where, f"a field is missing or wrong ({error})") from None
    if document.get("digest") != issue.digest:
        raise LedgerError(
            f"The review file {where} was changed after newsletter wrote it (its digest no "
            "longer matches), so it is not sent; run `newsletter review` to make a new review "
            "and approve that one."
        )
    return issue


def _content(issue: ReviewIssue) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "destination": issue.destination,
        "slot": issue.slot,
        "slot_starts": _stamp(issue.slot_starts) if issue.slot_starts else None,
        "created_at": _stamp(issue.created_at),
        "posts": [_post_content(post) for post in issue.posts],
        "emails": [
            {
                "subject": email.subject,
                "preheader": email.preheader,
                "sender": email.sender,
                "language": email.language,
                "post_ids": list(email.post_ids),
                "headers": dict(email.headers),
                "html": email.html,
                "text": email.text,
            }
            for email in issue.emails
        ],
    }


def _post_content(post: ReviewPost) -> dict[str, Any]:
    content: dict[str, Any] = {
        "id": post.id,
        "link": post.link,
        "title": post.title,
        "published": _stamp(post.published) if post.published else None,
    }
    if post.feed:
        content["feed"] = post.feed
    return content


def _parse(document: Mapping[str, Any]) -> ReviewIssue:
    posts = tuple(
        ReviewPost(
            id=_text(item["id"]),
            link=_text(item["link"]),
            title=_text(item["title"]),
            published=_moment(item.get("published")),
            feed=_text(item.get("feed", "")),
        )
        for item in _list(document["posts"])
    )
    emails = tuple(
        Email(
            subject=_text(item["subject"]),
            preheader=_text(item["preheader"]),
            sender=_text(item["sender"]),
            language=None if item.get("language") is None else _text(item["language"]),
            post_ids=tuple(_text(value) for value in _list(item["post_ids"])),
            headers={_text(k): _text(v) for k, v in _table(item["headers"]).items()},
            html=_text(item["html"]),
            text=_text(item["text"]),
        )
        for item in _list(document["emails"])
    )
    if not posts or not emails:
        raise ValueError("a review holds at least one post and one email")
    created = _moment(document["created_at"])
    if created is None:
        raise ValueError("created_at is empty")
    slot = document.get("slot")
    return ReviewIssue(
        destination=_text(document["destination"]),
        slot=None if slot is None else _text(slot),
        slot_starts=_moment(document.get("slot_starts")),
        created_at=created,
        posts=posts,
        emails=emails,
    )


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _stamp(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    return _utc(datetime.fromisoformat(_text(value)))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, found {type(value).__name__}")
    return value


def _table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, found {type(value).__name__}")
    return value


def _broken(where: str, why: str) -> LedgerError:
    return LedgerError(
        f"The review file {where} cannot be read ({why}); it is never sent as it is: run "
        "`newsletter review` to make a new review."
    )
