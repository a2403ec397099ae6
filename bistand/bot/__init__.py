"""The bot's orchestration: configuration, secrets, the run context, reading and writing a case.

Used by the Robot Framework keyword library in bistand.bot.keywords. The browser is reached only
through page objects (bistand.pages); the rules (bistand.core) never see it.
"""
