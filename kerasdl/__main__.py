import sys

from kerasdl.cli import main

# Guarded: `kerasdl tune` starts processes that import this module again.
if __name__ == "__main__":
    sys.exit(main())
