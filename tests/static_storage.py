"""A pytest plugin: the tests serve static files by their plain names, with no collectstatic.

Loaded with `-p tests.static_storage` (pyproject.toml), before pytest-django reads the settings.
Production's storage writes hashed, compressed names at collectstatic time and refuses to name a
file its manifest lacks; apps/dashboard/tests/test_static_files.py collects into a temporary
folder and checks that storage as a browser meets it.
"""

import os

os.environ.setdefault("BALLAST_STATIC_HASHED", "false")
