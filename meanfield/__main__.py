"""``python -m meanfield`` is the ``meanfield`` command."""
import sys

from .cli import main

sys.exit(main())
