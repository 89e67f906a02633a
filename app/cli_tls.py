"""`flask --app wsgi tls …`: the plant CA and the server certificate for HTTPS on the plant LAN."""
import shlex
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.access import tls

tls_cli = AppGroup("tls", help="HTTPS for the plant LAN: a plant CA that tablets trust, and the server certificate "
                               "it signs (see docs/https.md).")

DIR_HELP = "Folder of the CA and server files (default: INSTANCE/tls)."


def _folder(directory: Path | None) -> Path:
    """The --dir given, or the instance folder's tls/, as an absolute path."""
    return (directory or Path(current_app.instance_path) / "tls").resolve()


@tls_cli.command("ca")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None, help=DIR_HELP)
@click.option("--name", default="Floorbook plant CA", show_default=True, help="The CA's name, as tablets show it.")
@click.option("--days", default=3650, show_default=True, type=int, help="How long the CA is valid.")
@click.option("--force", is_flag=True, help="Replace an existing CA (every tablet must then trust the new one).")
def tls_ca(directory: Path | None, name: str, days: int, force: bool) -> None:
    """Create the plant certificate authority (plant-ca.key and plant-ca.crt)."""
    folder = _folder(directory)
    try:
        cert = tls.create_authority(folder, name, days, force=force)
    except (tls.TlsError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Plant CA certificate: {cert}  (install this file on every tablet)")
    click.echo(f"Plant CA key:         {folder / tls.CA_KEY}  (keep it secret; it signs server certificates)")
    click.echo(f"SHA-256 fingerprint:  {tls.fingerprint(cert)}")
    click.echo(f"Next: flask --app wsgi tls server --dir {shlex.quote(str(folder))} HOST [HOST ...]")


@tls_cli.command("server")
@click.argument("hosts", nargs=-1, required=True)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None, help=DIR_HELP)
@click.option("--days", default=tls.MAX_SERVER_DAYS, show_default=True, type=int,
              help=f"How long the server certificate is valid (at most {tls.MAX_SERVER_DAYS}: Apple's limit).")
def tls_server(hosts: tuple[str, ...], directory: Path | None, days: int) -> None:
    """Issue server.crt and server.key for HOSTS (IP addresses and DNS names the tablets use)."""
    folder = _folder(directory)
    try:
        cert, key = tls.issue_server_certificate(folder, list(hosts), days)
    except (tls.TlsError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Server certificate: {cert}  (with the plant CA as chain)")
    click.echo(f"Server key:         {key}")
    click.echo("Serve HTTPS with:")
    click.echo(f"  FLOORBOOK_TLS_CERT={shlex.quote(str(cert))} FLOORBOOK_TLS_KEY={shlex.quote(str(key))}")
    click.echo(f"Plant CA SHA-256 fingerprint (check it on each tablet): {tls.fingerprint(folder / tls.CA_CERT)}")
