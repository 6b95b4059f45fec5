"""The stack the end-to-end tests drive.

Either a running stack named by environment variables (the compose stack):

    VIGIL_E2E_CONTROLLER_URL      e.g. http://127.0.0.1:8000
    VIGIL_E2E_PROMETHEUS_URL      e.g. http://127.0.0.1:9090
    VIGIL_E2E_ALERTMANAGER_URL    e.g. http://127.0.0.1:9093
    VIGIL_E2E_CONTROLLER_INSTANCE the `instance` label Prometheus gives the controller target
                                  (default controller:8000, the compose service)
    VIGIL_E2E_API_KEY             an admin API key of that controller (compose: the file
                                  admin_key in the vigil-secrets volume)
    VIGIL_E2E_PROMETHEUS_USER     HTTP basic auth of Prometheus, e.g. vigil, and its password:
    VIGIL_E2E_PROMETHEUS_PASSWORD   the compose stack's is in its secrets volume,
                                  /run/vigil-secrets/prometheus_password (quickstart.md)
    VIGIL_E2E_ALERTMANAGER_USER   the same for Alertmanager (alertmanager_password); unset:
    VIGIL_E2E_ALERTMANAGER_PASSWORD the server is expected to ask for no password

or, when VIGIL_E2E_CONTROLLER_URL is unset, the native stack started for the session on free
ports in a throwaway state directory, scraping every second, and stopped at the end (its
basic auth passwords are read from its state directory).

When an e2e test fails, the end of every native part's log is added to its report.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import httpx
import pytest

from tests.e2e.native_stack import ACTIVE_STACKS, StackUnderTest, component_logs, running_stack

ENV_URLS = (
    "VIGIL_E2E_CONTROLLER_URL",
    "VIGIL_E2E_PROMETHEUS_URL",
    "VIGIL_E2E_ALERTMANAGER_URL",
    "VIGIL_E2E_API_KEY",
)


@pytest.fixture(scope="session")
def stack_under_test() -> Iterator[StackUnderTest]:
    if os.environ.get(ENV_URLS[0]):
        missing = [name for name in ENV_URLS if not os.environ.get(name)]
        if missing:
            pytest.fail(f"{ENV_URLS[0]} is set but not {', '.join(missing)}", pytrace=False)
        controller, prometheus, alertmanager, key = (os.environ[n].rstrip("/") for n in ENV_URLS)
        instance = os.environ.get("VIGIL_E2E_CONTROLLER_INSTANCE", "controller:8000")
        yield StackUnderTest(
            controller,
            prometheus,
            alertmanager,
            instance,
            None,
            api_key=key,
            prometheus_auth=_env_auth("VIGIL_E2E_PROMETHEUS"),
            alertmanager_auth=_env_auth("VIGIL_E2E_ALERTMANAGER"),
        )
        return
    with running_stack(scrape_interval="1s", evaluation_interval="1s") as stack:
        yield StackUnderTest(
            controller=stack.controller.url,
            prometheus=stack.prometheus.url,
            alertmanager=stack.alertmanager.url,
            scrape_instance=f"127.0.0.1:{stack.settings.controller_port}",
            native=stack,
            api_key=stack.layout.admin_key.read_text().strip(),
            prometheus_auth=stack.prometheus.credentials.pair(),
            alertmanager_auth=stack.alertmanager.credentials.pair(),
        )


def _env_auth(prefix: str) -> tuple[str, str] | None:
    """(user, password) from PREFIX_USER and PREFIX_PASSWORD; None when neither is set."""
    user, password = os.environ.get(f"{prefix}_USER"), os.environ.get(f"{prefix}_PASSWORD")
    if user is None and password is None:
        return None
    if not user or password is None:
        pytest.fail(f"set both {prefix}_USER and {prefix}_PASSWORD, or neither", pytrace=False)
    return user, password


@pytest.fixture(scope="session")
def controller(stack_under_test: StackUnderTest) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack_under_test.api_key}"}
    with httpx.Client(base_url=stack_under_test.controller, headers=headers, timeout=10) as client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and item.get_closest_marker("e2e") is not None:
        for stack in ACTIVE_STACKS:
            title = f"native stack logs ({stack.layout.root})"
            report.sections.append((title, component_logs(stack)))
    return report
