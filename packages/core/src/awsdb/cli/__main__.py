"""``python -m awsdb.cli``."""

from awsdb.cli import main

raise SystemExit(main())
