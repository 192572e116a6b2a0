"""The `questboard` command: admin actions from a shell, on the settings `make run` uses.

`cli.local` finds those settings (also used by scripts/run.py); `cli.main` parses the
command line and calls one engine function per command. This package may import
`engine/` and `config.py`, never Flask or RQ.
"""
