"""Start Snail Studio: no arguments open the window; `python main.py generate ...` runs the CLI."""

import sys

from studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
