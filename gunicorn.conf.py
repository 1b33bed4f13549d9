"""gunicorn's configuration: read from the working directory (the repository, /app in the image).

gunicorn loads `./gunicorn.conf.py` unless `-c` names another file, so every command that starts
the web here (the image, compose, the chart, `make demo`) logs the same way without a flag. Its
error and access records go through the same handler and format as Django's
(controlplane/logging_setup.py): one JSON object per line under `BALLAST_LOG_FORMAT=json`, the
access records with their fields and the request's X-Request-ID. The access log is always on
(a logconfig_dict turns it on), on stderr like the rest; `--access-logfile` changes nothing.
"""

import os

from controlplane import logging_setup

logconfig_dict = logging_setup.config(
    logging_setup.log_format(), os.environ.get("BALLAST_LOG_LEVEL", "INFO")
)
