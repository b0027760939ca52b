"""The ``sealer`` command line (``sealer.cli.main:main``): argument parsing and I/O only.

The click definitions are cheap to import (``sealer --help`` loads only click); each command's
body lives in a module that is imported when the command runs.
"""
