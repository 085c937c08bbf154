"""`newsletter init`: set up a blog's repository for the weekly newsletter.

It writes a starter `newsletter.toml`, the GitHub workflow and a `templates/` folder, and never
overwrites: each file is created in exclusive mode, so one that exists, even one created a
moment earlier by something else, is kept and reported instead.

The workflow is the very file this project runs (`newsletter/starter/newsletter.yml` links to
`.github/workflows/newsletter.yml`), with the package it installs pinned to the version that
ran `init` (`requirement.py`: the release, or the git repository at its tag before there is
one), so a blog upgrades when its author decides to, and fitted to the blog's own
`[schedule]` and `[review]` when its newsletter.toml has them (`workflow.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path

from newsletter.config import load_config
from newsletter.errors import ConfigError, NewsletterError
from newsletter.requirement import Installed, installed, starter_requirement
from newsletter.workflow import Fitting, fit_workflow

CONFIG_PATH = Path("newsletter.toml")
WORKFLOW_PATH = Path(".github/workflows/newsletter.yml")
TEMPLATES_DIR = Path("templates")

# The workflow's own default installs the project it sits in, or the latest release.
UNPINNED_PACKAGE_LINE = '  NEWSLETTER_PACKAGE: ""\n'

NEXT_STEPS = f"""\
Next steps:
  1. Edit {CONFIG_PATH}: set [feed] url to your blog's feed and [newsletter] from.
  2. Try it without sending: newsletter check, then newsletter preview --open.
  3. Choose a provider in {CONFIG_PATH} and add its secret on GitHub under
     Settings > Secrets and variables > Actions (e.g. BUTTONDOWN_API_KEY).
  4. Commit and push. {WORKFLOW_PATH} then sends every week (its cron line says
     when, in UTC); Actions > Newsletter > Run workflow sends now, or a test to yourself.
  5. To send at your own hour, or to review each issue in a pull request first, fill in
     [schedule] or [review] in {CONFIG_PATH}, delete {WORKFLOW_PATH} and run
     newsletter init again: it writes the workflow to match."""


@dataclass(frozen=True)
class InitReport:
    """What `init_project` did, with paths relative to the folder it set up."""

    written: tuple[Path, ...]
    skipped: tuple[Path, ...]
    """Already there, so left exactly as they were."""
    next_steps: str = NEXT_STEPS


def init_project(
    target: Path, *, from_git: bool = False, found: Installed | None = None
) -> InitReport:
    """Write the starter files into `target` (a blog's repository), keeping any that exist.

    The workflow installs the requirement `requirement.py` derives from how this copy was
    installed (`found`, read from the package's metadata unless given), or the project's
    git repository at this version's tag when `from_git`."""
    if not target.is_dir():
        raise ConfigError(
            f"{target} is not a folder; pass --dir with the path of your blog's repository."
        )
    written: list[Path] = []
    skipped: list[Path] = []

    def place(relative: Path, text: str) -> None:
        (written if _create(target / relative, text) else skipped).append(relative)

    place(CONFIG_PATH, _starter("newsletter.toml"))
    # An existing templates/ folder is the author's (or another tool's): leave it alone. A
    # new one is made before the workflow is fitted, which reads the config that names it.
    templates_existed = (target / TEMPLATES_DIR).exists()
    templates_made = not templates_existed and _create(
        target / TEMPLATES_DIR / "README.md", _starter("templates-README.md")
    )
    requirement = starter_requirement(found or installed(), from_git=from_git)
    workflow = pin_package(_starter("newsletter.yml"), requirement)
    place(WORKFLOW_PATH, fit_workflow(workflow, fitting_for(target)))
    if templates_existed:
        skipped.append(TEMPLATES_DIR)
    else:
        (written if templates_made else skipped).append(TEMPLATES_DIR / "README.md")
    return InitReport(written=tuple(written), skipped=tuple(skipped))


def fitting_for(target: Path) -> Fitting:
    """What the blog's own newsletter.toml (the starter, or the author's) asks of the
    workflow: its [schedule] in the author's zone, and [review]."""
    if not (target / CONFIG_PATH).is_file():
        return Fitting()  # something else is in the config's way: the plain workflow
    config = load_config(str(target / CONFIG_PATH), {})
    folder = config.state.path.parent / "review"
    try:
        review_folder = folder.resolve().relative_to(target.resolve()).as_posix()
    except ValueError:
        raise ConfigError(
            f"[state] path in {target / CONFIG_PATH} points outside the blog's repository; "
            "the workflow can only commit files inside it."
        ) from None
    return Fitting(
        schedule=config.schedule,
        review=config.review.by_pull_request,
        review_ahead=timedelta(hours=config.review.hours_ahead),
        review_folder=review_folder,
    )


def pin_package(workflow: str, requirement: str) -> str:
    """The workflow with NEWSLETTER_PACKAGE set to `requirement` instead of auto-detection."""
    if UNPINNED_PACKAGE_LINE not in workflow:
        raise NewsletterError(
            "The bundled workflow has no NEWSLETTER_PACKAGE line to pin; reinstall newsletter."
        )
    return workflow.replace(UNPINNED_PACKAGE_LINE, f'  NEWSLETTER_PACKAGE: "{requirement}"\n', 1)


def _starter(name: str) -> str:
    return resources.files("newsletter").joinpath("starter", name).read_text(encoding="utf-8")


def _create(path: Path, text: str) -> bool:
    """Write a new file; False when something already exists at `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NewsletterError(
            f"Cannot create the folder {path.parent} ({error.strerror}); "
            "move whatever is in the way or check that the folder is writable."
        ) from None
    try:
        with path.open("x", encoding="utf-8", newline="\n") as file:
            file.write(text)
    except FileExistsError:
        return False
    except OSError as error:
        raise NewsletterError(
            f"Cannot write {path} ({error.strerror}); check that the folder is writable."
        ) from None
    return True
