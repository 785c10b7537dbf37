"""MQTT clients as both programs make them: paho 2.x, MQTT 5, TLS with a client
certificate when configured, a persistent session; and why a connection fails (paho
retries without saying: a TLS handshake done the client's way names the cause)."""

from __future__ import annotations

import socket
import ssl
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY_S = 7 * 24 * 3600
PROPERTY_TABLES = ("types", "names", "properties")


def share_property_tables() -> None:
    """paho's ``Properties.__init__`` builds its three lookup tables (about 80 entries) anew
    for every MQTT 5 packet read or written — a sixth of a gateway's interpreter time under
    one-record messages (a live tap each). paho only ever reads them, so every instance can
    share one copy: the same attributes, built once (``tests/unit/test_mqtt_properties.py``
    compares them with paho's own for every packet type)."""
    if getattr(Properties, "_learncard_shared_tables", False):
        return
    template = Properties(PacketTypes.PUBLISH)
    tables = {name: getattr(template, name) for name in PROPERTY_TABLES}

    def __init__(self: Properties, packetType: int) -> None:  # noqa: N803 - paho's name
        object.__setattr__(self, "packetType", packetType)
        self.__dict__.update(tables)

    original = Properties.__init__
    setattr(Properties, "__init__", __init__)  # noqa: B010
    setattr(Properties, "_learncard_paho_init", original)  # noqa: B010
    setattr(Properties, "_learncard_shared_tables", True)  # noqa: B010


share_property_tables()


def mqtt_client(section: dict[str, object], client_id: str) -> mqtt.Client:
    """A paho client (MQTT 5) with TLS and client certificate when configured."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if section.get("tls"):
        client.tls_set_context(tls_context(section))
    if section.get("username"):
        client.username_pw_set(str(section["username"]), str(section.get("password") or "") or None)
    client.reconnect_delay_set(1, 30)
    client.on_socket_open = _no_delay
    return client


def _no_delay(client: mqtt.Client, userdata: object, sock: object) -> None:
    """Turn Nagle's algorithm off: paho 2.2 never sets TCP_NODELAY, and a one-record
    message (a live tap) otherwise waits up to 40 ms for the previous segment's ACK."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
    except (AttributeError, OSError):  # not a TCP socket (a test's socketpair): nothing to do
        pass


def tls_context(section: dict[str, object]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(section["ca_file"]) or None)
    if section.get("cert_file"):
        context.load_cert_chain(str(section["cert_file"]), str(section["key_file"]))
    return context


def connect_persistent(client: mqtt.Client, host: str, port: int, *, receive_maximum: int = 0) -> None:
    """Connect in the background; ``receive_maximum`` (MQTT 5) caps the QoS 1 messages the
    broker sends before this client has acknowledged them (0: the protocol's default)."""
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)


# cause → (zh_CN, en): what a person reads on the staff screen and in `status`
CAUSES = {
    "refused": ("代理服务器拒绝连接（未运行或端口错误）",
                "the broker refused the connection (not running, or a wrong port)"),
    "unreachable": ("无法连到代理服务器（网络或地址有误）", "the broker cannot be reached (network or address)"),
    "server-certificate-expired": ("服务器证书已过期——或本机时钟太快，请检查时间",
                                   "the server certificate has expired — or this kiosk's clock is fast: "
                                   "check the time"),
    "server-certificate-not-yet-valid": ("服务器证书尚未生效——本机时钟可能太慢，请检查时间",
                                         "the server certificate is not yet valid — this kiosk's clock is probably "
                                         "slow: check the time"),
    "unknown-ca": ("服务器证书不是本县 CA 签发的，请检查注册包", "the server certificate is not from the county's CA: "
                   "check the enrolment bundle"),
    "server-certificate": ("服务器证书无效", "the server certificate does not verify"),
    "client-certificate-refused": ("代理服务器拒绝了本机证书（过期、吊销或本机时钟有误）",
                                   "the broker refused this kiosk's certificate "
                                   "(expired, revoked, or this clock is off)"),
    "tls": ("TLS 握手失败", "the TLS handshake failed"),
    "broker-refused": ("代理服务器拒绝登录", "the broker refused the login"),
    "unknown": ("连接失败，原因不明", "the connection failed for a reason not found"),
}


def problem(cause: str, detail: str) -> dict[str, str]:
    zh, en = CAUSES[cause]
    return {"cause": cause, "detail": detail, "zh_CN": zh, "en": en,
            "system_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def diagnose(section: dict[str, object], host: str, port: int, timeout: float = 5.0) -> dict[str, str]:
    """Why connecting to the broker fails, found by connecting the client's way: TCP, then the
    TLS handshake with the client's context. Returns a :func:`problem`."""
    try:
        sock = socket.create_connection((host, port), timeout)
    except ConnectionRefusedError as err:
        return problem("refused", str(err))
    except OSError as err:
        return problem("unreachable", str(err))
    if not section.get("tls"):
        sock.close()
        return problem("unknown", "TCP connects; the MQTT connection failed")
    try:
        with tls_context(section).wrap_socket(sock, server_hostname=host) as tls:
            tls.settimeout(min(timeout, 1.0))
            try:
                tls.recv(1)  # TLS 1.3 tells of a refused client certificate only after the handshake
            except TimeoutError:
                pass
    except ssl.SSLCertVerificationError as err:
        text = str(err.verify_message or err)
        if "expired" in text:
            return problem("server-certificate-expired", text)
        if "not yet valid" in text:
            return problem("server-certificate-not-yet-valid", text)
        if any(sign in text for sign in ("issuer", "self-signed", "self signed", "signature failure")):
            # "signature failure": a CA of the same name but another key (a CA made again)
            return problem("unknown-ca", text)
        return problem("server-certificate", text)
    except ssl.SSLError as err:
        text = str(err.reason or err)
        if "ALERT" in text.upper() and "CERTIFICATE" in text.upper():
            return problem("client-certificate-refused", text)
        return problem("tls", text)
    except OSError as err:
        return problem("tls", str(err) or type(err).__name__)
    finally:
        sock.close()
    return problem("unknown", "TCP and TLS succeed; the MQTT connection failed")
