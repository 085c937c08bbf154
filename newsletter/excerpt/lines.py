"""Posts written one `<div>` per line, with `<div><br></div>` for a blank line, as paragraphs.

Blogger's editor (and Gmail-style rich-text editors) put every line the author typed in its
own `<div>`, and a blank line in a `<div>` holding only a `<br>`. A browser shows that blank
div as an empty line; an email cannot keep it (empty elements vanish on the way), so the
post would read as a wall of lines. The runs of lines between blank lines are exactly the
author's paragraphs: each becomes a `<p>`, its lines joined by `<br>`.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from newsletter.excerpt.tree import BLOCK_TAGS, CONTENT_TAGS, is_blank, is_element, tag_of


def paragraphs_from_lines(root: HtmlElement) -> None:
    for container in [root, *root.iter("div")]:
        if any(_is_blank_line(child) for child in container):
            _regroup(container)


def _is_blank_line(node: HtmlElement) -> bool:
    """`<div><br></div>`, `<div>&nbsp;</div>`: a div that shows nothing but an empty line."""
    if not is_element(node) or tag_of(node) != "div" or not is_blank(node.text):
        return False
    # Anything else inside (a word after the <br>, a break comment) makes it a real line.
    children = list(node)
    return all(tag_of(child) == "br" and is_blank(child.tail) for child in children) and (
        bool(children) or node.text is not None
    )


def _is_line(node: HtmlElement) -> bool:
    """A div with only words, links and images in it: one line of the author's text."""
    return tag_of(node) == "div" and not any(
        tag_of(inner) in BLOCK_TAGS for inner in node.iterdescendants()
    )


def _regroup(container: HtmlElement) -> None:
    children = list(container)
    paragraph: HtmlElement | None = None
    loose = container.text
    container.text = None
    rebuilt: list[HtmlElement] = []

    def current() -> HtmlElement:
        nonlocal paragraph
        if paragraph is None:
            paragraph = container.makeelement("p", {})
            rebuilt.append(paragraph)
        return paragraph

    def add_text(text: str | None) -> None:
        if is_blank(text):
            return
        holder = current()
        if len(holder):
            holder[-1].tail = (holder[-1].tail or "") + (text or "")
        else:
            holder.text = (holder.text or "") + (text or "")

    add_text(loose)
    for child in children:
        container.remove(child)
        tail, child.tail = child.tail, None
        if _is_blank_line(child):
            paragraph = None
        elif is_element(child) and _is_line(child):
            holder = current()
            if _shows_something(holder):
                holder.append(holder.makeelement("br", {}))
            add_text(child.text)
            for inner in list(child):
                holder.append(inner)
        elif is_element(child) and tag_of(child) not in BLOCK_TAGS:
            current().append(child)  # a loose link, or Blogger's <a name="more"> anchor
        else:
            paragraph = None
            rebuilt.append(child)
        add_text(tail)
    for node in rebuilt:
        node.tail = node.tail or "\n"
        container.append(node)
    if rebuilt:
        rebuilt[-1].tail = None


def _shows_something(paragraph: HtmlElement) -> bool:
    return not is_blank(paragraph.text_content()) or any(
        True for _ in paragraph.iter(*CONTENT_TAGS)
    )
