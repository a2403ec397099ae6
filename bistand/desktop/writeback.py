"""The consumer's write-back step through the desktop client (`BISTAND_CASEMGMT_CLIENT=desktop`).

One client per run (started on first use, logged in once, stopped when the run's process ends).
A failure becomes an ApplicationError with a blurred screenshot; the next try recovers the
client (stray dialogs closed, a frozen client restarted) before it writes.
"""

from __future__ import annotations

import atexit
import time
from pathlib import Path

from robot.api import logger

from bistand.core.errors import ApplicationError
from bistand.core.personnummer import mask_personnummer_in_text
from bistand.desktop.client import DesktopCaseManagement
from bistand.pages.casemgmt import DecisionBasisForm
from bistand.settings import Settings
from bistand.settings.vault import credentials


class DesktopWriteBack:
    def __init__(self, settings: Settings, failures_dir: Path | None = None) -> None:
        self.settings = settings
        self.failures_dir = failures_dir or settings.output_dir / "failures"
        """Where blurred screenshots of a failing write go: the run's own evidence folder."""
        self.client: DesktopCaseManagement | None = None

    def _client(self) -> DesktopCaseManagement:
        if self.client is None:
            client = DesktopCaseManagement(
                self.settings.urls["casemgmt"], credentials("casemgmt", self.settings), headless=self.settings.headless,
                timeout=self.settings.page_timeout_ms / 1000, failures_dir=self.failures_dir,
                desktop=self.settings.desktop,
            )
            atexit.register(client.close)
            self.client = client
        return self.client

    def write(self, work, report_text: str) -> list[str]:
        """Writes the decision basis unless the case window lists one; marks it in the overview so
        the web write-back skips it. Returns ["decision_basis"] when written now."""
        app = work.bundle.application
        form = DecisionBasisForm(
            application_id=app.application_id, period=app.period, proposal=work.assessment.proposal,
            amount=work.assessment.amount, findings=work.assessment.finding_codes, report_text=report_text,
        )
        started = time.perf_counter()
        try:
            written = self._client().write_decision_basis(app.case_number, form)
        except Exception as exc:
            self._fail(app.application_id)
            if isinstance(exc, ApplicationError):
                raise
            message = mask_personnummer_in_text(f"{type(exc).__name__}: {exc}")[:120]
            raise ApplicationError("DESKTOP_CLIENT", f"casemgmt desktop client: {message}") from exc
        if app.application_id not in work.overview.decision_basis_ids:
            work.overview.decision_basis_ids.append(app.application_id)
        seconds = time.perf_counter() - started
        logger.info(f"{app.application_id}: decision basis {'saved' if written else 'already listed'} "
                    f"in the desktop client ({seconds:.2f} s)")
        return ["decision_basis"] if written else []

    def _fail(self, application_id: str) -> None:
        if self.client is None:
            return
        path = self.client.capture_failure(application_id)
        if path is not None:
            logger.info(f"Desktop client screenshot (blurred): {path}")
