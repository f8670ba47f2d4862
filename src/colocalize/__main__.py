"""``python -m colocalize``: the same as the ``colocalize`` command."""

import sys

from colocalize._cli._main import main

sys.exit(main())
