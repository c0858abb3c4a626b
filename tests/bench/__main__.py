"""`python -m tests.bench`: run every benchmark and print its figures."""

import sys

from tests.bench import http_load

sys.exit(http_load.main())
