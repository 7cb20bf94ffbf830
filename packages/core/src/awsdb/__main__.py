"""``python -m awsdb``: the ``awsdb`` command (``awsdb check DSN``, ``awsdb docs``, ...)."""

from awsdb.cli import main

raise SystemExit(main())
