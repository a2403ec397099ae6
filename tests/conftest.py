"""Shared fixtures: the simulators on free ports (example world) and one headless browser."""

from __future__ import annotations

import pytest

from tests.queue_fixtures import postgres_database, postgres_server_url, private_postgres, queue_url  # noqa: F401
from tests.simulator_process import EXAMPLE_WORLD, Simulators, free_base_port


@pytest.fixture(scope="session")
def example_world_path():
    return EXAMPLE_WORLD


@pytest.fixture(scope="session")
def simulators(tmp_path_factory, example_world_path):
    """All eight systems seeded from the shared example world, for the whole test session.

    Tests that write (notes, statuses) must use their own application or case, or the
    `fresh_simulators` fixture.
    """
    sims = Simulators(
        world=example_world_path,
        state_dir=tmp_path_factory.mktemp("sim-state"),
        base_port=free_base_port(),
        faults=True,  # test_pages_eservice makes one page answer 503
    ).start(reset=True)
    yield sims
    sims.stop()


@pytest.fixture
def fresh_simulators(tmp_path, example_world_path):
    sims = Simulators(
        world=example_world_path, state_dir=tmp_path / "state", base_port=free_base_port()
    ).start(reset=True)
    yield sims
    sims.stop()


@pytest.fixture(scope="session")
def browser_session():
    """One Chromium for the test session, as in a bot run."""
    from bistand.browser import BrowserSession

    session = BrowserSession(headless=True).start()
    yield session
    session.close()



@pytest.fixture(scope="module")
def sync_chromium():
    """Debian's Chromium driven by Playwright's sync API, one per test module (the dashboard's
    browser tests click through its pages as a team lead does)."""
    from playwright.sync_api import sync_playwright

    from bistand.browser import choose_browser, launch_args

    _kind, executable = choose_browser(headless=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(headless=True, executable_path=executable, args=launch_args())
        yield chromium
        chromium.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end modules first (their order otherwise kept): on two workers the long ones start
    early and the many short ones fill in at the end, instead of one long module running alone last."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
