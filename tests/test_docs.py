"""The documentation stays navigable and complete.

* Every relative link in README.md, CONTRIBUTING.md and docs/*.md resolves: the file exists and,
  for ``#anchor``, the target file has a heading with that GitHub anchor.
* Every command and option of the parser (``optimizer.cli.build_parser``) is documented: in
  docs/cli.md, or in the docs page that documents that command.
* The README's quick-start test command is the one CI runs (``.ci/run``), and the README stays a
  short guide.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from optimizer.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
INDENTED = re.compile(r"(?:^(?: {4}|\t).*\n?)+", re.M)  # indented code blocks
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/pytest"
SOLVE_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -q -e . && "
                 ".venv/bin/bedalloc solve instances/ice-fy2026.json")


def _prose(text: str) -> str:
    """The text without fenced code, indented code blocks and code spans (links there are not links)."""
    text = FENCE.sub("", text)
    text = "\n".join(line for line in INDENTED.sub("", text).splitlines())
    return CODE_SPAN.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub does (-1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    return [t for t in LINK.findall(_prose(path.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]  # http:, https:, mailto: are not checked


def test_slug_matches_github():
    assert slug("Keeping decisions (`--pins`)") == "keeping-decisions---pins"
    assert slug("2. Instance file (JSON, `\"format\": \"bedalloc-instance\"`)") == \
        "2-instance-file-json-format-bedalloc-instance"
    assert slug("Decisions where MODEL.md leaves a question open") == "decisions-where-modelmd-leaves-a-question-open"
    assert slug("`bedalloc capacity-curve`") == "bedalloc-capacity-curve"


def test_link_extraction_skips_code():
    text = "see [a](x.md#b) and `[c](nope.md)`\n\n    [d](nope2.md)\n\n```\n[e](nope3.md)\n```\n"
    assert LINK.findall(_prose(text)) == ["x.md#b"]


def test_pages_exist():
    names = {p.name for p in PAGES}
    assert {"README.md", "CONTRIBUTING.md", "cli.md", "formats.md", "design.md", "solvers.md",
            "performance.md", "MODEL.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(ROOT) if ROOT in dest.parents else dest}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _page_of(command: str) -> Path:
    """docs/cli.md when it has the command's section, else the first docs page naming the command."""
    cli = ROOT / "docs" / "cli.md"
    if f"bedalloc-{command}" in anchors(cli):
        return cli
    for page in sorted((ROOT / "docs").glob("*.md")):
        if f"bedalloc {command}" in page.read_text(encoding="utf-8"):
            return page
    raise AssertionError(f"command {command!r} is documented in no docs/*.md page")


def test_every_command_and_option_is_documented():
    missing = []
    for name, parser in _subcommands().items():
        page = _page_of(name)
        text = page.read_text(encoding="utf-8")
        for action in parser._actions:
            missing += [f"{name} {flag} ({page.name})" for flag in action.option_strings
                        if flag.startswith("--") and flag != "--help" and flag not in text]
    assert not missing, "undocumented options: " + ", ".join(missing)


def test_usage_blocks_are_the_parsers():
    """Each usage block of docs/cli.md is what ``bedalloc COMMAND --help`` prints (spacing aside)."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    stale = []
    for name, parser in _subcommands().items():
        block = re.search(rf"```\n(bedalloc {re.escape(name)} \[.*?)```", text, re.S)
        usage = parser.format_usage().removeprefix("usage: ")
        if block and block.group(1).split() != usage.split():
            stale.append(name)
    assert not stale, "usage blocks differing from the parser: " + ", ".join(stale)


def test_readme_quick_start_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SOLVE_COMMAND in readme and TEST_COMMAND in readme
    assert readme.index(SOLVE_COMMAND) < readme.index("##", readme.index("## Quick start") + 3)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == TEST_COMMAND


def test_readme_is_a_short_guide():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250
