"""The bot's keyword components for the task suites, one per concern: run control, casework,
assessment, the e-service inbox.

Each receives what it uses when it is built (the run context, the applications in flight, the
suite's work-items library, the queue's store); the run core's composition root,
bistand.run.library.RunLibrary, builds them and joins their keywords into the one library the
suites import (robotframework-pythonlibcore). No component looks another up.

Keywords stay thin: the browser work is in bistand.bot.casework, the rules in bistand.core, the
reports in bistand.report. They pass an `ItemWork` handle whose repr is only the application id,
so nothing personal reaches log.html.
"""
