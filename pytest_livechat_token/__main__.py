"""``python -m pytest_livechat_token``: the ``livechat-token`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
