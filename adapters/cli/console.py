"""``firmaio console``: serve the operators' web console; ``firmaio console add-user``.

``firmaio console --db STORE`` serves it on ``--host``/``--port`` (127.0.0.1:8400) with the
session secret from ``FIRMAIO_CONSOLE_SECRET`` or ``--session-secret-file``; it refuses to start
without one, or with no account and no identity provider, naming what is missing.
``firmaio console add-user NAME --role TENANT:ROLE`` adds (or replaces) an account: a local one
whose password is read from ``--password-file``, ``FIRMAIO_CONSOLE_PASSWORD`` or a prompt
(never the command line), or, with ``--oidc ISSUER``, one that signs in through that identity
provider (by ``--subject``, or by its verified email: the NAME, or ``--email``).
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from firmaio.fsm.errors import InvalidInput

from ..client import DEFAULT_BASE_URL
from .options import base_url_option, need_db

PASSWORD_ENV = "FIRMAIO_CONSOLE_PASSWORD"


def role_of(text: str) -> tuple[str, str]:
    """``TENANT:ROLE`` (``*`` for every tenant), checked."""
    from ..store.accounts import ROLES

    tenant, _, role = text.partition(":")
    if not tenant or role not in ROLES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not TENANT:ROLE (ROLE one of {', '.join(ROLES)}; TENANT * for all)"
        )
    return tenant, role


def add_console_command(sub: Any) -> None:
    """Add ``console`` (and ``console add-user``) to ``firmaio``'s subparsers."""
    console = sub.add_parser("console", help="the operators' web console (extra [console])")
    console.add_argument("--db", help="the store: SQLite file or postgresql:// URL (needed)")
    console.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    console.add_argument("--port", type=int, default=8400, help="port (%(default)d)")
    console.add_argument(
        "--session-secret-file",
        type=Path,
        help="the key session cookies are signed with (else $FIRMAIO_CONSOLE_SECRET)",
    )
    console.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="session cookies without Secure, for http:// on a loopback --host only (tests)",
    )
    console.add_argument("--tenants", help="the tenants file: where each tenant's API key is")
    console.add_argument("--signed-dir", default="signed", help="where fetched documents go")
    console.add_argument("--oidc-issuer", help="the identity provider (OpenID Connect) issuer URL")
    console.add_argument("--oidc-client-id", help="the console's client id there")
    console.add_argument(
        "--oidc-client-secret-env", metavar="VAR", help="the variable holding the client secret"
    )
    base_url_option(console)
    console.set_defaults(func=cmd_console)
    console_sub = console.add_subparsers(dest="console_command")
    add = console_sub.add_parser("add-user", help="add or replace a console account")
    add.add_argument("name", help="the account's name (an email, for an identity provider's)")
    add.add_argument(
        "--role", type=role_of, action="append", required=True, metavar="TENANT:ROLE",
        help="a role (viewer, operator, admin) in a tenant (* for every tenant); repeatable",
    )  # fmt: skip
    add.add_argument("--password-file", type=Path, help=f"the password (else ${PASSWORD_ENV})")
    add.add_argument("--oidc", metavar="ISSUER", help="signs in through this identity provider")
    add.add_argument("--subject", help="with --oidc: the provider's subject (else by email)")
    add.add_argument("--email", help="with --oidc: the verified email (default: the NAME)")
    add.add_argument("--db", default=argparse.SUPPRESS, help="as for console")
    add.set_defaults(func=cmd_add_user)


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        from ..key_files import read_key_file

        raw = read_key_file(args.password_file, "the --password-file")
        try:
            password = raw.decode("utf-8").strip("\r\n")
        except UnicodeDecodeError:
            raise InvalidInput(f"--password-file {args.password_file} is not text") from None
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise InvalidInput("the two passwords differ: nothing was changed")
    else:
        raise InvalidInput(
            f"give the password with --password-file or ${PASSWORD_ENV} (never on the command "
            "line), or run at a terminal to be asked for it"
        )
    if len(password) < 12:
        raise InvalidInput("a console password has at least 12 characters: nothing was changed")
    return password


def cmd_add_user(args: argparse.Namespace, out: TextIO) -> int:
    """Add (or replace) a console account, local or the identity provider's."""
    from ..console.auth import hash_password
    from ..store import open_store
    from ..store.accounts import Account

    db = need_db(args)
    roles = dict(args.role)
    if args.oidc:
        if args.password_file is not None:
            raise InvalidInput("an --oidc account has no password: drop --password-file")
        email = None if args.subject else (args.email or args.name)
        account = Account(args.name, None, args.oidc, args.subject, email, roles)
    else:
        account = Account(args.name, hash_password(_password(args)), roles=roles)
    store = open_store(db)
    try:
        store.save_account(account, now=time.time())
    finally:
        store.close()
    shown = ", ".join(f"{t}:{r}" for t, r in roles.items())
    print(f"console account {account.name} saved ({shown})", file=out)
    return 0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def cmd_console(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the console until interrupted."""
    need_db(args)
    try:
        import uvicorn

        from ..console import ConsoleSettings, console_app
        from ..console.settings import SECRET_ENV
    except ImportError as missing:
        raise InvalidInput(
            f"firmaio console needs the [console] extra: pip install 'firmaio-fsm[console]' "
            f"({missing})"
        ) from None
    if args.insecure_cookies and not _loopback(args.host):
        raise InvalidInput("--insecure-cookies only with a loopback --host (127.0.0.1)")
    secret = os.environ.get(SECRET_ENV)
    if args.session_secret_file is not None:
        from ..key_files import read_key_file

        secret = read_key_file(str(args.session_secret_file), "the session secret file").decode()
    settings = ConsoleSettings(
        args.db, (secret or "").strip() or None, secure_cookies=not args.insecure_cookies,
        base_url=getattr(args, "base_url", None) or DEFAULT_BASE_URL, tenants_file=args.tenants,
        signed_dir=args.signed_dir, oidc_issuer=args.oidc_issuer,
        oidc_client_id=args.oidc_client_id, oidc_client_secret_env=args.oidc_client_secret_env,
    )  # fmt: skip
    app = console_app(settings)
    print(f"firmaio console on http://{args.host}:{args.port}/ (store {args.db})", file=out)
    out.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
