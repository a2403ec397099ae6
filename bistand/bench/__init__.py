"""`python -m bistand bench`: the bot's seconds, memory and CPU per application, against the HTTP floor."""
