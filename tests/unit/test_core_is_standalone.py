"""The core and its unit tier need none of the gateway's runtime libraries (issue 8).

A fresh interpreter is made to fail every import of them, as if they were not installed,
then imports every module of `gateway/` and collects this tier (its conftests and fakes
included). A module that reaches for one of them fails with its name.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The runtime dependencies of pyproject.toml (and the SQLAlchemy and pydantic under them).
NOT_INSTALLED = (
    "sqlalchemy", "sqlmodel", "alembic", "psycopg", "pydantic", "pydantic_core", "pydantic_settings",
    "telegram", "aiosmtpd", "aiosmtplib", "imapclient", "jinja2", "babel", "py3langid", "dkim",
    "authres", "publicsuffixlist", "puremagic", "dns", "inscriptis", "typer", "rich",
)

CHILD = textwrap.dedent("""
    import importlib, pkgutil, sys

    NOT_INSTALLED = set(sys.argv[1].split(","))

    class NotInstalled:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in NOT_INSTALLED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    try:
        import sqlalchemy
    except ModuleNotFoundError:
        pass
    else:
        sys.exit("the blocker let sqlalchemy through")

    import gateway
    for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
        importlib.import_module(module.name)

    import pytest
    sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests/unit"]))
""")


def test_the_core_and_the_unit_tier_import_without_the_runtime_libraries() -> None:
    result = subprocess.run([sys.executable, "-c", CHILD, ",".join(NOT_INSTALLED)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
