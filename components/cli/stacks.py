"""CI stack selection: which stacks a change can alter, for a pull request's preview matrix (`stacks`)."""

from __future__ import annotations

PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt", "components/")


def stacks_to_preview(changed: list[str], stacks: list[str]) -> list[str]:
    """The stacks a change can affect: all of them when the program changed, else those whose file changed."""
    if any(path == p or (p.endswith("/") and path.startswith(p)) for path in changed for p in PROGRAM_FILES):
        return list(stacks)
    return [s for s in stacks if f"Pulumi.{s}.yaml" in changed]
