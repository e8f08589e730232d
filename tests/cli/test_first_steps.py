"""Small things a new user trips on: the simulator's imports, the Django README's install."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DJANGO_README = ROOT / "examples" / "django_project" / "README.md"


def test_the_simulator_imports_without_pytest() -> None:
    script = (
        "import sys\n"
        "sys.modules['pytest'] = sys.modules['hypothesis'] = None\n"
        "from connect_mw.testing import Simulator, notification\n"
        "import connect_mw.cli.simulate\n"
        "print(Simulator.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Simulator"


def extras_providing(package: str) -> set[str]:
    """The extras of connect-mw whose requirements include ``package``."""
    found = set()
    for requirement in importlib.metadata.requires("connect-mw") or []:
        match = re.match(rf"{package}\b.*extra == ['\"](\w+)['\"]", requirement)
        if match:
            found.add(match.group(1))
    return found - {"dev"}


def test_the_django_readme_installs_what_simulate_needs() -> None:
    text = DJANGO_README.read_text()
    (extras,) = re.findall(r"pip install -e '\.\[([\w,]+)\]'", text)
    assert "django" in extras.split(",")
    assert extras_providing("httpx") & set(extras.split(","))
    assert "connect-mw simulate" in text
