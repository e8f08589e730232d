#!/usr/bin/env python
"""The example project's manage.py. Run it, from the repository root::

python3 -m venv .venv && .venv/bin/pip install -e '.[django,rest]' && export CONNECT_MW_HMAC_KEYS='your-connect-hmac-key' && .venv/bin/python examples/django_project/manage.py migrate && .venv/bin/python examples/django_project/manage.py runserver 127.0.0.1:8001
"""  # noqa: E501

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connect_example.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
