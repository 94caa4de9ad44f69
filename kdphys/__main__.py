"""``python -m kdphys ...`` entry point."""

import sys

from kdphys.cli import main

sys.exit(main())
