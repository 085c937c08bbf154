"""The email's own words that come from Python rather than from a template.

Marked with `N_` so that `pybabel extract` (see babel.cfg) puts them in the catalogues; they
are translated where they are used, through the locale's gettext catalogue.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks `message` for extraction and returns it untranslated."""
    return message


READ_MORE = N_("Continue reading")
"""The button's default text ([excerpt] read_more). An author's own text is used as written."""

LISTEN = N_("Listen")
"""The audio card's button, and its line in the text part."""
WATCH = N_("Watch")
"""The caption under a video's picture, and its line in the text part."""
PLAY_VIDEO = N_("Play video: %(title)s")
"""The alt text of a video's picture."""
EPISODE_ARTWORK = N_("Episode artwork: %(title)s")
"""The alt text of an episode's picture, when the feed gives no other."""

# Words the built-in templates share (the digest's contents list, the button's label for
# screen readers, media cards, comments links). Listed here as well, so that every catalogue
# carries them whichever template uses them first.
TEMPLATE_WORDS = (
    N_("In this issue"),
    N_("Continue reading: %(title)s"),
    N_("Listen"),
    N_("Watch"),
    N_("Comments"),
    N_("Play video: %(title)s"),
    N_("Episode artwork: %(title)s"),
)
