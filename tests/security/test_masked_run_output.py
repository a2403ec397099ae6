"""log.html and output.xml of a run are read by more people than the caseworker: the masking
listener masks every message, failure and argument, whatever form the number is written in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMS = ["8503121234", "850312-1234", "19850312+1234", "pnr_198503121234", "850312%2D1234"]


def test_a_suite_that_logs_and_fails_with_numbers_leaves_none_in_log_html_or_output_xml(tmp_path: Path) -> None:
    lines = "\n".join(f"    Log    Sökte {form} i registret" for form in FORMS)
    suite = tmp_path / "leaky.robot"
    suite.write_text(
        "*** Test Cases ***\nLeaky\n"
        f"{lines}\n"
        "    ${found}=    Set Variable    ANS198503121234\n"
        "    Log    ${found}\n"
        "    Fail    Hittade inte 19850312 1234\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "robot", "--listener", "bistand.bot.masking.MaskingListener",
                    "--report", "NONE", "--console", "quiet", "--outputdir", str(tmp_path), str(suite)],
                   cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False, timeout=120)
    for name in ("output.xml", "log.html"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "1234" not in text.replace("0123456789", ""), f"a number left in {name}"
        assert "XXXX" in text
