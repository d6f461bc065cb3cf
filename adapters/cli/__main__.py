"""``python -m firmaio.adapters.cli``: the ``firmaio`` command."""

from . import main

raise SystemExit(main())
