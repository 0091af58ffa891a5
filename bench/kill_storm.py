"""Kill storm, SMTP only: `fault_suite.py storm` with the figures of the first storm runs.

SMTP load flat out while `gateway run` is killed with SIGKILL again and again (random 2-6 s
intervals), with a sink relay; then the ledger: lost, duplicate tickets, outbound duplicates
(same Message-ID, only from sends whose relay answer was lost in a kill), restart -> ready.
The storm across SMTP, IMAP and Telegram is `bench/fault_suite.py storm`.

    .venv/bin/python bench/kill_storm.py [--kills 10] [--sessions 20] [--database URL]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fault_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    fault_suite.main(["storm", "--channels", "smtp", "--kills", str(args.kills),
                      "--min-interval", "2", "--max-interval", "6", "--smtp-rate", "0",
                      "--sessions", str(args.sessions), "--database", args.database])


if __name__ == "__main__":
    main()
