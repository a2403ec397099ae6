"""The run core: where a run is put together.

produce and work (work.py) over the Robot Framework suites (suite.py), watch mode (watch.py), the
demo (demo.py), replay (commands.py), the verdict and the one ExitCode (verdict.py, exit_codes.py),
both work-item adapters (adapter.py, watch_adapter.py) and the `queue` commands (queue_commands.py).
Above it only the commands and user interfaces; below it the bot, monitoring and the queue's store.
"""
