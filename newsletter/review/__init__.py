"""The review pull request: an issue rendered ahead of its slot, approved by merging it.

`issue.py` is the file format, `publish.py` puts it on the review branch and opens or updates
the pull request, `pull_body.py` writes what the pull request says.
"""
