"""The stress suites: the client and the server against the emulator with faults on (`pytest -m chaos` selects
the chaos run; it runs with the rest of the suite too, and outside the fast loop: every module here is `slow`)."""
