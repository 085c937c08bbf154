"""A bare git repository standing in for the one behind GitHub's API: the fake reads and
writes branches, blobs, trees and commits with git's own plumbing, so the review flow's
commits, merges and files are real git objects a checkout can clone and pull."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_SHA = re.compile(r"^[0-9a-f]{40}$")


class BareRepository:
    """Git plumbing over `self.remote`; the fake mixes it in."""

    remote: Path
    default_branch: str

    def git(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        return run_git(
            self.remote, "--git-dir", str(self.remote), *args, input=input, env=env
        ).strip()

    def commit(self, branch: str, files: Mapping[str, bytes], message: str) -> str:
        parent = self.branch_sha(branch)
        tree = self.tree_with(parent, files)
        sha = self.commit_tree(tree, [parent] if parent else [], message, "Author")
        self.git("update-ref", f"refs/heads/{branch}", sha)
        return sha

    def branch_sha(self, branch: str) -> str | None:
        result = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.remote),
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/heads/{branch}^{{commit}}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip() or None

    def file(self, ref: str, path: str) -> bytes | None:
        result = subprocess.run(
            ["git", "--git-dir", str(self.remote), "cat-file", "blob", f"{ref}:{path}"],
            capture_output=True,
            check=False,
        )
        return result.stdout if result.returncode == 0 else None

    def resolve(self, ref: str) -> str | None:
        if ref.startswith("-"):
            return None
        result = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.remote),
                "rev-parse",
                "--verify",
                "--quiet",
                f"{ref}^{{commit}}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip() or None

    def is_commit(self, sha: Any) -> bool:
        return isinstance(sha, str) and bool(_SHA.match(sha)) and self.resolve(sha) == sha

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return (
            subprocess.run(
                [
                    "git",
                    "--git-dir",
                    str(self.remote),
                    "merge-base",
                    "--is-ancestor",
                    ancestor,
                    descendant,
                ],
                check=False,
            ).returncode
            == 0
        )

    def tree_with(self, parent: str | None, files: Mapping[str, bytes]) -> str:
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            if parent:
                self.git("read-tree", parent, env=env)
            for path, data in files.items():
                blob = self.git("hash-object", "-w", "--stdin", input=data)
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            return self.git("write-tree", env=env)

    def commit_tree(self, tree: str, parents: list[str], message: str, name: str) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": f"{name}@users.noreply.github.com",
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": f"{name}@users.noreply.github.com",
        }
        return self.git(*args, "-m", message, env=env)


def run_git(
    cwd: Path, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        check=False,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), **(env or {})},
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr.decode()}"
    return result.stdout.decode()
