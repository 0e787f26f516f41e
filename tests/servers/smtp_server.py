#!/usr/bin/env python3
"""A real SMTP server on loopback for cam's tests (see tests/mail_servers.rs).

Built on aiosmtpd (pinned: aiosmtpd==1.4.6; scripts/test.sh installs it into
target/test-venv). Usage:

    smtp_server.py --port N --dir D [--sink] [--auth USER:PASS]
                   [--tls-cert FILE --tls-key FILE [--implicit-tls]]

Prints exactly ``READY <port>`` on stdout once listening. Every accepted
message becomes ``D/<seq>.eml`` (the DATA bytes as received, CRLF line ends,
dot-stuffing removed) and then ``D/<seq>.json`` ({"mail_from", "rcpt_tos",
"tls", "authenticated"}: whether the session was encrypted and logged in).
Both are written to a temporary name and renamed, the .json last: a reader
that sees ``<seq>.json`` can read the whole ``<seq>.eml``. ``<seq>`` counts
from 1 in arrival order, zero-padded to 8 digits.

With ``--sink`` nothing is written per message: the count of accepted
messages goes to ``D/count`` (atomically, at most every 50 ms and on exit).

Faults, chosen by the local part of a recipient address:
  tempfail*   RCPT: 451 4.3.0 the first 2 times that exact address is seen, then 250
  reject*     RCPT: 550 5.1.1 <addr>: user unknown
  datareject* end of DATA: 554 5.7.1 message refused
  cut*        the message is stored (it counts as received), then the connection
              is closed without any reply to the end of DATA
Everything else is accepted with 250 OK.

With ``--auth USER:PASS``, AUTH PLAIN and LOGIN are required before MAIL;
without TLS they are advertised in the clear (loopback only). Every AUTH
attempt is appended to ``D/auth.jsonl`` before it is answered, one JSON
object per line: {"mechanism", "tls", "success"}.

With ``--tls-cert FILE --tls-key FILE`` (PEM) the server speaks TLS:
STARTTLS is advertised and required before anything but EHLO/NOOP/QUIT
(AUTH then is only advertised and accepted after STARTTLS); with
``--implicit-tls`` as well, TLS starts with the first byte instead (SMTPS)
and STARTTLS is not offered.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

TEMPFAIL_TIMES = 2


def local_part(address: str) -> str:
    address = address.strip().strip("<>")
    return address.rsplit("@", 1)[0].lower()


def write_atomic(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Handler:
    def __init__(self, directory: str, sink: bool):
        self.directory = directory
        self.sink = sink
        self.seq = 0
        self.tempfail_seen: dict[str, int] = {}
        self.count_written = -1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = local_part(address)
        if local.startswith("tempfail"):
            seen = self.tempfail_seen.get(address, 0)
            self.tempfail_seen[address] = seen + 1
            if seen < TEMPFAIL_TIMES:
                return "451 4.3.0 try again later"
        elif local.startswith("reject"):
            return f"550 5.1.1 <{address}>: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        locals_ = [local_part(r) for r in envelope.rcpt_tos]
        if any(l.startswith("datareject") for l in locals_):
            return "554 5.7.1 message refused"
        self.store(server, session, envelope)
        if any(l.startswith("cut") for l in locals_):
            # Accepted and stored, but the client never hears so: close the
            # connection and wait to be cancelled by connection_lost.
            server.transport.close()
            await asyncio.get_running_loop().create_future()
        return "250 OK"

    def store(self, server, session, envelope) -> None:
        self.seq += 1
        if self.sink:
            return
        base = os.path.join(self.directory, f"{self.seq:08d}")
        write_atomic(base + ".eml", bytes(envelope.original_content))
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": is_tls(server),
            "authenticated": bool(session.authenticated),
        }
        write_atomic(base + ".json", json.dumps(meta).encode())

    def write_count(self) -> None:
        if self.sink and self.seq != self.count_written:
            write_atomic(os.path.join(self.directory, "count"), str(self.seq).encode())
            self.count_written = self.seq

    async def count_writer(self) -> None:
        while True:
            self.write_count()
            await asyncio.sleep(0.05)


def is_tls(server) -> bool:
    """Whether this session is encrypted: after STARTTLS the transport is the
    TLS layer's, with implicit TLS an SSL transport from the start; both
    expose the SSL object."""
    return server.transport is not None and server.transport.get_extra_info("ssl_object") is not None


def make_authenticator(user: str, password: str, directory: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # Every attempt, before answering it: D/auth.jsonl, one JSON per line.
        with open(os.path.join(directory, "auth.jsonl"), "a") as f:
            f.write(json.dumps({"mechanism": mechanism, "tls": is_tls(server), "success": ok}) + "\n")
        # handled=False: aiosmtpd then answers 535 itself on failure.
        return AuthResult(success=ok, handled=False)

    return authenticator


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--sink", action="store_true")
    parser.add_argument("--auth", metavar="USER:PASS")
    parser.add_argument("--tls-cert", metavar="FILE", help="PEM certificate chain (enables TLS)")
    parser.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte, no STARTTLS")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.implicit_tls and not args.tls_cert:
        parser.error("--implicit-tls needs --tls-cert and --tls-key")

    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args.dir, args.sink)

    options = dict(hostname="localhost", enable_SMTPUTF8=True)
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if not args.implicit_tls:
            options.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, _, password = args.auth.partition(":")
        options.update(
            authenticator=make_authenticator(user, password, args.dir),
            auth_required=True,
            # STARTTLS servers take AUTH only once encrypted. aiosmtpd does
            # not see implicit TLS (it only tracks its own STARTTLS), so there
            # and without TLS, AUTH is allowed as is.
            auth_require_tls=bool(args.tls_cert) and not args.implicit_tls,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **options),
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.implicit_tls else None,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    counter = loop.create_task(handler.count_writer()) if args.sink else None
    # If the test process dies without killing us (SIGKILL, a crash), we are
    # re-parented: stop rather than linger and hold its inherited files.
    parent = os.getppid()

    async def watch_parent() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(0.5)
        stop.set()

    watcher = loop.create_task(watch_parent())

    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()

    await stop.wait()
    watcher.cancel()
    server.close()
    if counter is not None:
        counter.cancel()
    handler.write_count()


if __name__ == "__main__":
    # AUTH without TLS is deliberate (loopback only): silence the warning.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.basicConfig(level=logging.WARNING, format="smtp_server: %(levelname)s %(name)s: %(message)s")
    # aiosmtpd warns about AUTH without TLS and its own deprecated login_data on
    # every session; keep errors (exceptions in the handler) only.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
