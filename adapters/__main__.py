"""`python -m adapters` is the `gateway` command."""

from adapters.cli import main

main()
