"""What a blog's workflow installs: the requirement `newsletter init` pins.

The pin must resolve on GitHub's runner, or every run of the blog's workflow fails at its
install step. So it follows how this copy of newsletter was itself installed (the
`direct_url.json` that pip and uv record, PEP 610, https://peps.python.org/pep-0610/):

- from a package index (no direct_url.json): that release, `blog-newsletter==X.Y.Z`;
- from git: the same repository at the same tag or commit;
- from a local checkout or a file (before the first release, or while developing), or when
  the author asks with `init --from-git`: the project's repository at the tag `vX.Y.Z`, the
  repository being the `Source` URL in pyproject.toml's [project.urls].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DISTRIBUTION = "blog-newsletter"
PLACEHOLDER_SOURCE = "https://github.com/YOUR-ACCOUNT/newsletter"
"""pyproject.toml's `Source` until the maintainer names the real repository (README, Releasing)."""


@dataclass(frozen=True)
class Installed:
    version: str
    direct_url: dict[str, Any] | None = None
    """PEP 610's record of where the package came from; None for an install from an index."""
    source: str | None = None
    """The project's repository, from the package's metadata (`Project-URL: Source, ...`)."""


def installed() -> Installed:
    """How the running copy of newsletter was installed, from its own metadata."""
    from importlib import metadata

    from newsletter import __version__

    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        # Run from a checkout that was never installed: like a local install.
        return Installed(__version__, direct_url={}, source=None)
    recorded = distribution.read_text("direct_url.json")
    direct_url = json.loads(recorded) if recorded else None
    source = None
    for entry in distribution.metadata.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "source":
            source = url.strip()
    return Installed(distribution.version, direct_url=direct_url, source=source)


def starter_requirement(found: Installed, *, from_git: bool = False) -> str:
    """The requirement the blog's workflow should install, as pip and uv read it."""
    vcs = (found.direct_url or {}).get("vcs_info")
    if vcs and vcs.get("vcs") == "git" and found.direct_url is not None:
        revision = vcs.get("requested_revision") or vcs["commit_id"]
        return f"{DISTRIBUTION} @ git+{found.direct_url['url']}@{revision}"
    if from_git or found.direct_url is not None:
        repository = (found.source or PLACEHOLDER_SOURCE).removesuffix("/")
        return f"{DISTRIBUTION} @ git+{repository}@v{found.version}"
    return f"{DISTRIBUTION}=={found.version}"
