"""`python -m components --help`: the operator's command line (see components/cli.py)."""

import sys

from components.cli import main

if __name__ == "__main__":
    sys.exit(main())
