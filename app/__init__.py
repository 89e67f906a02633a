"""Floorbook: the application factory (it only wires)."""
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

from app.config import CONFIGS, ROOT, Config


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, CLI."""
    if config_class is None:
        config_class = CONFIGS[os.environ.get("FLOORBOOK_ENV", "production")]
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=overrides.get("INSTANCE_PATH", config_class.INSTANCE_PATH),
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY") and app.config.get("SECRET_KEY_FILE"):
        from app.transport import kept_secret_key

        app.config["SECRET_KEY"] = kept_secret_key(Path(app.instance_path) / app.config["SECRET_KEY_FILE"])
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: export SECRET_KEY=<a long random string>")
    public = urlsplit(app.config.get("PUBLIC_URL") or "")
    if public.geturl() and (public.scheme not in ("http", "https") or not public.netloc):
        raise RuntimeError(f"FLOORBOOK_PUBLIC_URL={public.geturl()!r} is not an address: expected http(s)://host[:port], "
                           "such as https://floorbook.plant.example")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _init_extensions(app)
    from app.services.floor.reasons import init_reasons

    init_reasons(app)  # a bad reasons file stops start-up here, naming its lines
    from app.services.core.blobs import init_blobs

    init_blobs(app)  # so does an unknown FLOORBOOK_BLOB_STORE or an unusable FLOORBOOK_BLOB_DIR
    from app.converters import register_converters

    register_converters(app)  # before the blueprints: their rules bind the converters when added
    _register_blueprints(app)

    from app.compression import register_compression
    from app.errors import register_error_handlers
    from app.security import register_security
    from app.cli import register_cli
    from app.templating import register_template_helpers

    register_compression(app)  # first registered, so its hook runs after every other after_request
    register_error_handlers(app)
    from app.transport import register_transport
    register_transport(app)  # HSTS, and the cookies' names and flags; before security, which reads the cookies
    register_security(app)
    from app.services.core.security_log import configure as configure_security_log
    configure_security_log(app)
    register_cli(app)
    register_template_helpers(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app.database import configure_engine, engine_options
    from app.extensions import csrf, db, htmx, login_manager, migrate

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                             app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    with app.app_context():
        configure_engine(db.engine)


def _register_blueprints(app: Flask) -> None:
    from app import admin, auth, board, deviations, downtime, floor, health, jobs, pwa, records, review
    from app.board.notifier import init_notifier

    init_notifier(app)

    for module in (auth, floor, downtime, deviations, review, records, admin, jobs, board, health, pwa):
        app.register_blueprint(module.bp)
