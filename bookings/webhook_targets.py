"""Where a webhook may be sent: the platform never POSTs to its own network (SSRF).

A merchant names any URL, and the start of each answer is shown back to them in the admin: without
a check, `http://127.0.0.1:6379/` or a cloud metadata address would turn the delivery worker into
a way to read the platform's internal network. So a webhook URL must be `https`, and every address
its host resolves to must be a public one: loopback, private, link-local, shared (CGNAT),
reserved, multicast and unspecified addresses are refused, IPv4-mapped IPv6 forms included.

The check runs at registration (the API, the admin) and again at each delivery, after resolving
the name: a name may resolve elsewhere later. Delivery then connects to the very address that
was checked (`webhook_target_resolve` returns it), so a DNS answer that changes between the check
and the connection cannot lead it elsewhere.

`WEBHOOK_ALLOW_INSECURE` (development only: `make run`, tests with a local receiver) allows
`http` and local addresses.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from organizations.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookTargetRefused(InvalidInput):
    """The URL may not receive webhooks; `detail` says why, naming the `url`."""


@dataclass(frozen=True)
class WebhookTarget:
    """A checked destination: connect to `address`, but speak to `host` (Host header, TLS SNI)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def insecure_targets_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_INSECURE", False))


def address_is_public(address: IPAddress) -> bool:
    """True for an address on the public internet; False for anything local, private or special."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return address_is_public(mapped)
        if address.teredo is not None:
            return address_is_public(address.teredo[1])
    if (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    return True


def _parts(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookTargetRefused(f"url: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookTargetRefused("url: must be an https URL")
    if scheme == "http" and not insecure_targets_allowed():
        raise WebhookTargetRefused("url: must be an https URL (http is allowed only in development)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookTargetRefused("url: has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused("url: may not carry a user name or password")
    return parts, host, port or (443 if scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton reads the forms a resolver would (2130706433, 0x7f.1, 127.1): judge them as it would.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _refuse_local(host: str, addresses: list[IPAddress]) -> None:
    if insecure_targets_allowed():
        return
    for address in addresses:
        if not address_is_public(address):
            raise WebhookTargetRefused(
                f"url: {host} is a local, private or reserved address ({address}); webhooks go to public addresses only"
            )


def webhook_url_check(*, url: str) -> None:
    """Refuse a URL that may not receive webhooks (400 naming `url`).

    A host that does not resolve (yet) is accepted here: it is resolved and checked again at each
    delivery, which is what protects the network."""
    _, host, port = _parts(url)
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError):
        return
    _refuse_local(host, addresses)


def webhook_target_resolve(*, url: str) -> WebhookTarget:
    """Resolve the URL's host now and check every address it has; the target to connect to.

    Raises WebhookTargetRefused for a refused URL or address, OSError when the name does not resolve."""
    parts, host, port = _parts(url)
    try:
        addresses = _resolve(host, port)
    except UnicodeError as exc:
        raise WebhookTargetRefused(f"url: {host} is not a valid host name") from exc
    if not addresses:
        raise OSError(f"{host} has no address")
    _refuse_local(host, addresses)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return WebhookTarget(scheme=parts.scheme.lower(), host=host, port=port, address=str(addresses[0]), path=path)
