"""`python -m components --help`: the operator's command line (see components/cli/)."""

import sys

from components.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
