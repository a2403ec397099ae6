"""A Robot Framework listener (API 3) that masks every personnummer in what a run writes.

log.html and output.xml are read by the team lead and by operators, not only by the caseworker:
every log message, keyword and task failure message and keyword argument goes through
`mask_personnummer_in_text` before Robot Framework stores it. The keywords already mask what they
log; this is the net under them (a library's own message, an exception text from a page).
Given to every run with `--listener bistand.bot.masking.MaskingListener` (bistand.run.suite, robot.yaml).
"""

from __future__ import annotations

from bistand.core.personnummer import mask_personnummer_in_text


class MaskingListener:
    """Masks messages, failure texts and arguments as Robot Framework records them."""

    ROBOT_LISTENER_API_VERSION = 3

    def log_message(self, message) -> None:
        message.message = mask_personnummer_in_text(message.message)

    def message(self, message) -> None:  # system messages (warnings about the run itself)
        message.message = mask_personnummer_in_text(message.message)

    def end_keyword(self, data, result) -> None:
        result.message = mask_personnummer_in_text(result.message)
        if any(isinstance(arg, str) for arg in result.args):
            result.args = tuple(mask_personnummer_in_text(arg) if isinstance(arg, str) else arg
                                for arg in result.args)

    def end_test(self, data, result) -> None:
        result.message = mask_personnummer_in_text(result.message)

    def end_suite(self, data, result) -> None:
        result.message = mask_personnummer_in_text(result.message)
