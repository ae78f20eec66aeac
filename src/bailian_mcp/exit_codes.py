"""The exit codes of the command line and the batch runner: one meaning each, whichever face ends with it."""

from __future__ import annotations

EXIT_OK = 0  # everything asked for was made
EXIT_INPUT = 2  # bad input or settings; nothing was sent
EXIT_SERVICE = 3  # DashScope refused or failed it (or could not be reached); nothing usable was made
EXIT_PARTIAL = 4  # part made, or still running when the wait ran out
EXIT_INTERRUPTED = 130  # Ctrl-C
