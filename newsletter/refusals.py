"""What `send` says when it refuses new posts for safety, and what `check` says ahead of
it: too many posts look new at once (the flood rule), or they look like the blog's archive
after a move (the archive rule). The rules themselves are `plan.py`'s; these are their words,
so each names the likely cause and the way out (`baseline`, or `send --force`).
"""

from __future__ import annotations


def archive_sentence(why: str, destination: str, *, checking: bool) -> str:
    """Why `send` refuses what looks like the archive, said by `send` itself or by `check`."""
    refusal = (
        "so `newsletter send` would refuse them (exit 3)" if checking else "so nothing was sent"
    )
    return (
        f"{why[0].upper()}{why[1:]} to {destination}, which has sent before: the blog has most "
        f"likely moved or changed its post ids and these are its archive, {refusal}; run "
        "`newsletter baseline` to record them as already sent, or `send --force` if they "
        "really are new."
    )


def flood_sentence(count: int, limit: int, *, checking: bool) -> str:
    """Why `send` refuses a flood, said by `send` itself or, ahead of it, by `check`."""
    if checking:
        return (
            f"{count} posts look new at once, more than flood_limit ({limit}), so `newsletter "
            "send` would refuse them (exit 3); if they were already sent under other ids or "
            "links, run `newsletter baseline` to mark them as sent, or `send --force` if they "
            "really are new."
        )
    return (
        f"{count} posts look new at once, more than flood_limit ({limit}); this usually "
        "means the blog moved or changed its post ids, so check `newsletter check`, then "
        "run `newsletter baseline` to mark them as sent, or `send --force` if they really "
        "are new."
    )
