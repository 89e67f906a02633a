"""Helpers of bench/board_latency.py: the server side (server.py) and the kiosk pages (pages.py).

A package, so that `make bench` (every bench/*.py but common.py, run as a script) does not run them.
"""
