"""The README's promises: its first two commands, the CI entry point, the documented subcommands."""

from __future__ import annotations

import re

from helpers import ROOT


def readme_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text().splitlines()[:8]
    assert any("Debian 12" in line for line in head)
    main, tests = readme_commands()[:2]
    assert main == "bash scripts/setup.sh && .venv/bin/inr-amr demo"
    assert tests == "bash scripts/setup.sh && .venv/bin/python -m pytest -q"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == readme_commands()[1]


def test_documented_subcommands_exist():
    from inr_amr_apps.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    text = (ROOT / "README.md").read_text()
    for name in re.findall(r"inr-amr (\w+)", text):
        assert name in sub.choices, f"README mentions `inr-amr {name}`, which does not exist"


def test_the_parameter_reference_is_current():
    from inr_amr_apps.parameters import parameter_table

    assert (ROOT / "docs" / "parameters.md").read_text() == parameter_table(), (
        "docs/parameters.md is stale: run `inr-amr parameters > docs/parameters.md`"
    )
