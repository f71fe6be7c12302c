"""The command inbox: commands accepted with `Prefer: respond-async`, run later by a worker.

`entries` stores and finds them (the request's side and the sweep's), `runner` runs one
exactly once, `codec` turns a command into the JSON the inbox keeps and back.
"""
