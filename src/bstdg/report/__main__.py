"""python -m bstdg.report ... (same as bstdg-report)."""

import sys

from bstdg.report.cli import main

sys.exit(main())
