"""Every page object reads the same models in both read strategies (fetch and render)."""

from __future__ import annotations

import asyncio
import json

import pytest

from bistand.bot.context import PAGE_MODULES, page_class
from bistand.core.personnummer import Personnummer
from bistand.pages.base import READ_STRATEGIES, Credentials
from tests.simulator_process import ROOT

pytestmark = pytest.mark.browser
PERIOD = "2026-12"
VAULT = json.loads((ROOT / "devdata" / "vault.json").read_text(encoding="utf-8"))


def robot(system: str) -> Credentials:
    """The bot's own login from the dev vault (Skatteverket's includes the TOTP secret)."""
    return Credentials.model_validate(VAULT[system])


def test_every_page_object_reads_equal_models_by_fetch_and_by_render(browser_session, simulators):
    world = json.loads(simulators.world.read_text(encoding="utf-8"))
    applications = world["applications"][:3]
    households = {h["case_number"]: h for h in world["households"]}

    async def read_everything(strategy: str) -> dict:
        pages = {}
        for system in PAGE_MODULES:
            context = await browser_session.context(f"{system}-{strategy}-{simulators.base_port}")
            pages[system] = page_class(system)(context, simulators.urls[system], robot(system),
                                               read_strategy=strategy)
        models: dict = {"inbox": await pages["eservice"].list_applications(None),
                        "municipality": await pages["eservice"].municipality()}
        for application in applications:
            app_id, case = application["application_id"], application["case_number"]
            models[app_id] = await pages["eservice"].read_application(app_id)
            models[f"{app_id} status"] = await pages["eservice"].status(app_id)
            models[f"{app_id} messages"] = await pages["eservice"].messages(app_id)
            models[case] = await pages["casemgmt"].open_case(case)
            for member in households[case]["members"]:
                pnr = Personnummer(member["personnummer"])
                models[pnr.full] = await asyncio.gather(
                    pages["fk"].search(pnr), pages["csn"].search(pnr), pages["pm"].search(pnr),
                    pages["akassa"].search(pnr), pages["af"].status(pnr), pages["skv"].folkbokforing(pnr),
                    pages["skv"].employer_declarations(pnr, PERIOD), pages["fk"].payments(pnr, PERIOD),
                )
        return models

    fetched, rendered = (browser_session.run(read_everything(strategy)) for strategy in READ_STRATEGIES)
    assert fetched.keys() == rendered.keys()
    for key in fetched:
        assert fetched[key] == rendered[key], key
    assert any(models for key, models in fetched.items() if key.startswith("19") or key.startswith("20"))
