"""Running the bot: producer/consumer orchestration, lock, summary, exit codes."""
