"""The benchmarks' baseline: one row inserted per request, on the server under test only.

This package is not part of Tongban. ``bench.baseline.settings`` (the ordinary settings plus this app
and ``bench.baseline.urls``) is what the benchmark server runs with; ``tongban.settings`` and
``tongban.urls`` never install the app or mount its URL, so no production server has it.
"""
