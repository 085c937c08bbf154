"""The review pull request's title and description, in Markdown, so that the pull request
itself shows the email: subject, posts, and desktop and phone pictures of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from newsletter.review.issue import ReviewIssue

MARKER = "<!-- newsletter-review -->"
"""Lets a person (or a later tool) tell the review pull request from any other."""


@dataclass(frozen=True)
class Pictures:
    desktop: str
    """Repository path of the 600 px wide picture."""
    phone: str
    """Repository path of the 375 px wide picture."""


@dataclass(frozen=True)
class EmailFiles:
    html: str
    text: str
    pictures: Pictures | None


def title(issue: ReviewIssue, slot_text: str | None) -> str:
    count = len(issue.posts)
    posts = "1 post" if count == 1 else f"{count} posts"
    when = f" for {slot_text}" if slot_text else ""
    return f"Newsletter{when}: {issue.subject} ({posts})"


def body(
    issue: ReviewIssue,
    *,
    issue_file: str,
    emails: Sequence[EmailFiles],
    slot_text: str | None,
    file_url: str,
) -> str:
    """`file_url` is the address of the branch's files at one commit, ending in '/', so
    pictures keep showing after the branch moves or is deleted."""
    if slot_text:
        when = (
            f"it goes out at its slot, {slot_text}; merged after that, it goes out at once "
            "and the run's summary says it was late"
        )
    else:
        when = "the newsletter workflow sends it as soon as it is merged"
    lines = [
        MARKER,
        f"**The next issue of the newsletter, for review.** Merge this pull request to approve "
        f"it: {when}. Close it without merging to skip these posts: they are recorded as "
        "skipped, and `newsletter send --post LINK` can still send one of them.",
        "",
        f"**Subject:** {_inline(issue.subject)}  ",
        f"**To:** {_inline(issue.destination)}",
        "",
        f"**Posts ({len(issue.posts)}):**",
        "",
    ]
    for post in issue.posts:
        day = f" ({post.published:%Y-%m-%d})" if post.published else ""
        lines.append(f"- [{_inline(post.title) or post.link}]({_link(post.link)}){day}")
    for number, files in enumerate(emails, start=1):
        heading = "The email" if len(emails) == 1 else f"Email {number} of {len(emails)}"
        subject = issue.emails[number - 1].subject if number <= len(issue.emails) else ""
        lines += ["", f"### {heading}: {_inline(subject)}", ""]
        if files.pictures is not None:
            desktop = file_url + quote(files.pictures.desktop)
            phone = file_url + quote(files.pictures.phone)
            lines += [
                "| Desktop, 600 px | Phone, 375 px |",
                "| --- | --- |",
                f'| <img src="{desktop}?raw=true" width="400" alt="The email 600 px wide"> '
                f'| <img src="{phone}?raw=true" width="250" alt="The email 375 px wide"> |',
                "",
            ]
        else:
            lines += ["_No pictures: Chromium was not available where the review ran._", ""]
        lines.append(f"HTML: `{files.html}` · text: `{files.text}`")
    lines += [
        "",
        "---",
        f"`{issue_file}` is exactly what will be sent. Do not edit it: a changed review file is "
        "refused. To change the email, change the blog or the templates, then run "
        "`newsletter review` again (or wait for the next scheduled run), which updates this "
        "pull request.",
    ]
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Text placed in Markdown without starting markup of its own."""
    escaped = " ".join(text.split())
    for character in "\\`*_[]<>|#":
        escaped = escaped.replace(character, "\\" + character)
    return escaped


def _link(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
