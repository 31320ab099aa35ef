"""Entry point the Pulumi CLI runs: everything lives in `components/`."""

from components.program import main

main()
