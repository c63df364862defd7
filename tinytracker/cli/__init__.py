"""The ``tinytracker`` command line: one module per command, each parsing, calling the library
and printing (``main.py`` lists them)."""
