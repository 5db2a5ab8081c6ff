"""``python -m bstdg.bench``."""

from bstdg.bench.cli import main

raise SystemExit(main())
