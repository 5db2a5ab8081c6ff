"""python -m bstdg.dashboard --entity E --project P"""

from bstdg.dashboard.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
