"""The HTTP API on its port, and what it reads from the configuration at each request
(the daemon builds the API's context: Daemon.api_context)."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from alertd.api.app import ApiContext, build_app
from alertd.config import Config

log = logging.getLogger("alertd")


class ApiServer:
    """The API served on the config's `listen` address until stopped."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    async def start(self, ctx: ApiContext, host: str, port: int) -> str:
        """Serve; the URL it listens on (with port 0, the port bound)."""
        self._runner = web.AppRunner(build_app(ctx), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        return f"http://{host}:{bound}"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None


def slack_signing_secret(config: Config) -> str | None:
    """The Slack app's signing secret (read when a click arrives, so a rotated file
    is picked up)."""
    slack = config.notify.slack
    if slack.signing_secret is not None:
        return slack.signing_secret.get_secret_value()
    if slack.signing_secret_file is not None:
        try:
            return Path(slack.signing_secret_file).read_text("utf-8").strip()
        except OSError as exc:
            log.error("cannot read notify.slack.signing_secret_file: %s", exc)
    return None
