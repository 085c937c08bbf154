"""Blog feed to email newsletter: fetch, pick new posts, cut at the break, render, send, record."""

__version__ = "0.1.0"
