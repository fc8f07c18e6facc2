"""`python -m kfops`: the same as the `kfops` command."""

import sys

from kfops.cli import main

sys.exit(main())
