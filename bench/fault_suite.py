"""The faults the ledger must survive (RELIABILITY 47-50), driven from outside the gateway.

Each scenario starts `gateway run` as a subprocess on a fresh database, injects its fault
under load, lets the gateway recover by itself, and prints its figures as JSON: per channel
acknowledged / stored / lost / duplicated, plus the scenario's timings. Nothing is asserted
about time. Servers listen on 127.0.0.1 only and are stopped on exit, Ctrl-C included.

    .venv/bin/python bench/fault_suite.py storm [--kills 100 --min-interval 1 --max-interval 4]
    .venv/bin/python bench/fault_suite.py relay-down [--outage 75]
    .venv/bin/python bench/fault_suite.py pg-restart [--database postgresql+psycopg://...]
    .venv/bin/python bench/fault_suite.py disk-full [--size-mb 64 --full-seconds 15]

`storm`, `relay-down` take --database URL (default SQLite in the data dir); `pg-restart`
restarts the machine's PostgreSQL cluster with `-m immediate` (everyone's connections drop),
`disk-full` mounts a tmpfs (needs root).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.faults import disk, postgres, relay, storm  # noqa: E402

SCENARIOS = {"storm": storm, "relay-down": relay, "pg-restart": postgres, "disk-full": disk}


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C, SIGTERM, and SIGINT even when started in the background (where the shell
    # ignores it): every scenario's `finally` then stops its servers.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scenarios = parser.add_subparsers(dest="scenario", required=True)
    for name, module in SCENARIOS.items():
        sub = scenarios.add_parser(name, help=(module.__doc__ or "").split("\n")[0])
        sub.add_argument("--database", default=getattr(module, "DEFAULT_DATABASE", ""))
        module.add_arguments(sub)
    args = parser.parse_args(argv)
    figures = {"scenario": args.scenario, **SCENARIOS[args.scenario].run(args)}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
