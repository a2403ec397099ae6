"""The client's side of the client-server protocol: the case-management server's JSON API."""

from __future__ import annotations

from typing import Any

import httpx


class ServerError(Exception):
    """A Swedish message for the status bar or the dialog (no personal data)."""


class Server:
    """One logged-in session with the case-management server (cookie kept by httpx)."""

    def __init__(self, base_url: str, timeout: float = 15) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.user = ""

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError:
            raise ServerError("Servern svarar inte. Försök igen.") from None

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise ServerError(f"Oväntat svar från servern (HTTP {response.status_code}).") from None
        return body if isinstance(body, dict) else {}

    def login(self, username: str, password: str) -> None:
        response = self._call("POST", "/api/login", json={"username": username, "password": password})
        if response.status_code != 200:
            raise ServerError(self._json(response).get("error", "Inloggningen misslyckades."))
        self.user = username

    def find_case(self, case_number: str = "", personnummer: str = "") -> str:
        response = self._call("GET", "/api/arenden", params={"arendenummer": case_number,
                                                             "personnummer": personnummer})
        body = self._json(response)
        if response.status_code != 200:
            raise ServerError(body.get("error", "Sökningen misslyckades."))
        return str(body["case_number"])

    def case(self, case_number: str) -> dict[str, Any]:
        response = self._call("GET", f"/api/arenden/{case_number}")
        body = self._json(response)
        if response.status_code != 200:
            raise ServerError(body.get("error", "Ärendet kunde inte läsas."))
        return body

    def save_basis(self, case_number: str, fields: dict[str, str]) -> int:
        """Returns the new basis number; raises ServerError with the server's messages."""
        response = self._call("POST", f"/api/arenden/{case_number}/beslutsunderlag", json=fields)
        body = self._json(response)
        if response.status_code != 201:
            raise ServerError(" ".join(body.get("errors", [])) or f"Kunde inte spara (HTTP {response.status_code}).")
        return int(body["id"])

    def close(self) -> None:
        self.http.close()
