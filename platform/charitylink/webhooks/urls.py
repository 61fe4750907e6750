"""Which URLs a hook may POST to.

Registration and every send check the target: ``https`` only, to a public
address. A hook must not become a way to reach the platform's own network
(SSRF): loopback, private, link-local (cloud metadata at 169.254.169.254),
shared, reserved and multicast addresses are refused, checked on every
address the name resolves to, and again before each send (the name may point
elsewhere by then). ``WEBHOOK_ALLOW_LOOPBACK`` (tests, a developer's machine)
lets a hook reach 127.0.0.1/::1 only, over http or https."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app

from charitylink.core.i18n import _


class UrlRefused(ValueError):
    pass


def _addresses(
    host: str, port: int
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UrlRefused(_("无法解析该地址的主机名。")) from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_url(url: str, *, resolve: bool = True) -> str:
    """The URL, if a hook may POST to it; else ``UrlRefused`` with a message."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(_("地址格式不正确。")) from exc
    host = parts.hostname or ""
    if not host or parts.scheme not in ("https", "http"):
        raise UrlRefused(_("地址必须以 https:// 开头并包含主机名。"))
    if parts.username or parts.password:
        raise UrlRefused(_("地址中不能包含用户名或密码。"))
    allow_loopback = bool(current_app.config.get("WEBHOOK_ALLOW_LOOPBACK"))
    if not resolve:
        return url.strip()
    addresses = _addresses(host, port or (443 if parts.scheme == "https" else 80))
    if not addresses:
        raise UrlRefused(_("无法解析该地址的主机名。"))
    loopback = all(a.is_loopback for a in addresses)
    if allow_loopback and loopback:
        return url.strip()
    if parts.scheme != "https":
        raise UrlRefused(_("地址必须使用 https://。"))
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise UrlRefused(
                _(
                    "不能向内网、本机或保留地址推送（%(a)s）；请使用公网可达的地址。",
                    a=str(address),
                )
            )
    return url.strip()
