"""The cut: a post up to the author's "continue reading" break, ready for an email.

`cut(post, markers=..., fallback_words=...) -> Excerpt` is the whole interface; the modules
behind it each do one job: `breaks` (where the break is), `furniture` (platform trailers,
pixels, footers, widgets), `media` (lazy images, embeds), `length` (no break: cut by
length), `sanitize` (URLs, image sizes, nh3 allowlist), `plaintext` (the text part).
"""

from newsletter.excerpt.cutter import cut

__all__ = ["cut"]
