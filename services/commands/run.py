"""``cmehub up``, ``cmehub doctor`` and ``cmehub api``: running the hub on one machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import typer

from services.health import Check, check_database, check_java, check_kafka, check_port_free, port_answers
from services.logs import configure_logging
from services.settings import Settings, get_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _print_checks(checks: list[Check]) -> bool:
    for check in checks:
        mark = typer.style("ok  ", fg="green") if check.ok else typer.style("FAIL", fg="red", bold=True)
        typer.echo(f"{mark} {check.name:<9} {check.detail}")
        if not check.ok and check.fix:
            typer.echo(f"     {'':<9} fix: {check.fix}")
    return all(check.ok for check in checks)


def doctor_command() -> None:
    """Check each dependency and say exactly what is wrong and how to fix it."""
    settings = get_settings()
    checks: list[Check] = []
    if settings.local_kafka:
        checks.append(check_java())
    checks.append(check_kafka(settings.bootstrap_servers))
    checks.append(check_database(settings.register_url))
    if not port_answers(settings.api_host, settings.api_port):
        checks.append(check_port_free("api", settings.api_host, settings.api_port))
    else:
        typer.echo(f"info api       something listens on {settings.api_host}:{settings.api_port} "
                   "(the hub's API if `cmehub up` is running)")
    if not _print_checks(checks):
        raise typer.Exit(1)


def api_command(
    host: str = typer.Option(None, help="Address to listen on (default CMEHUB_API_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (default CMEHUB_API_PORT)."),
    workers: int = typer.Option(1, min=1, max=16, help="Worker processes (each holds its own enquiry index; the "
                                                       "audit chain, clients and keys are shared)."),
) -> None:
    """Serve the API and console on their own."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level)
    _migrate(settings)
    os.environ["CMEHUB_API_WORKERS"] = str(workers)  # each worker takes its share of every client's limits
    # uvloop and httptools (dependencies) cost a fraction of asyncio and h11 per request.
    uvicorn.run("services.api.app:serve_app", factory=True, host=host or settings.api_host,
                port=port or settings.api_port, log_level="warning", access_log=False, workers=workers)


@dataclass
class Supervised:
    """A child process of `cmehub up`, restarted when it dies on its own."""

    name: str
    argv: list[str]
    one_shot: bool = False  # done when it exits 0 (the demo's traffic), not restarted
    log: Path | None = None  # where its output goes (the terminal when None)
    restarts: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_at: float = field(default=0.0)

    def start(self) -> None:
        if self.log is None:
            self.process = subprocess.Popen(self.argv, start_new_session=True)
        else:
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(self.argv, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
        self.started_at = time.monotonic()

    def stop(self, grace_s: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _is_local_postgres(settings: Settings) -> bool:
    url = settings.register_url
    if not url.startswith("postgresql"):
        return False
    parts = urlsplit(url.replace("+psycopg", ""))
    return parts.hostname in ("127.0.0.1", "localhost") and (parts.port or 5432) == settings.postgres_port


def _fail(message: str) -> NoReturn:
    typer.echo(typer.style("error: ", fg="red", bold=True) + message, err=True)
    raise typer.Exit(1)


def _run_script(script: Path, env: dict[str, str]) -> None:
    result = subprocess.run(["bash", str(script)], env=env, check=False)
    if result.returncode != 0:
        _fail(f"{script.relative_to(DEPLOY.parent)} failed (exit {result.returncode})")


def up_command(
    demo: bool = typer.Option(False, "--demo", help="Stream a term of simulated traffic once the hub is up."),
) -> None:
    """Start what is not already running (Kafka, database, topics, matching worker, API); Ctrl-C stops it."""
    settings = get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMEHUB_KAFKA_PORT": str(settings.kafka_port),
           "CMEHUB_POSTGRES_PORT": str(settings.postgres_port)}
    if port_answers(settings.api_host, settings.api_port):
        _fail(f"port {settings.api_host}:{settings.api_port} is taken (is the hub already up?); "
              "set CMEHUB_API_PORT to another port")

    started: list[Path] = []  # deploy scripts whose service this run started, to stop on the way out
    if settings.local_kafka and not port_answers("127.0.0.1", settings.kafka_port):
        _run_script(DEPLOY / "kafka" / "start.sh", env)
        started.append(DEPLOY / "kafka" / "stop.sh")
    if _is_local_postgres(settings) and not port_answers("127.0.0.1", settings.postgres_port):
        _run_script(DEPLOY / "postgres" / "start.sh", env)
        started.append(DEPLOY / "postgres" / "stop.sh")

    if not _print_checks([check_kafka(settings.bootstrap_servers), check_database(settings.register_url)]):
        _stop_started(started, env)
        raise typer.Exit(1)
    try:
        _prepare(settings)
        accounts = _demo_accounts(settings) if demo else []
    except Exception:
        _stop_started(started, env)
        raise

    web_port = settings.api_port + 1
    logs = settings.state_dir / "logs"
    logs.mkdir(exist_ok=True)
    children = [
        Supervised("matching", [sys.executable, "-m", "faust", "-A", "services.matching.stream", "worker",
                                "--loglevel", "warn", "--web-port", str(web_port)], log=logs / "matching.log"),
        Supervised("api", [sys.executable, "-m", "services.cli", "api"], log=logs / "api.log"),
    ]
    if demo:
        children.append(Supervised("demo", [sys.executable, "-m", "services.cli", "simulate", "demo",
                                            "--children", str(settings.demo_children)], one_shot=True))
    for child in children:
        child.start()
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    typer.echo(f"\nCME Hub for LA {settings.la_code} is up.\n"
               f"  API      http://{settings.api_host}:{settings.api_port}/  (health: /healthz, docs: /docs)\n"
               f"  console  http://{settings.api_host}:{settings.api_port}/console/\n"
               f"  Kafka    {settings.bootstrap_servers}\n"
               f"  register {settings.register_url}\n"
               f"  logs     {logs}/\n"
               + "".join(f"  sign in  {user} / {password}  ({role})\n" for user, role, password in accounts)
               + "Press Ctrl-C to stop everything.")
    try:
        while not stopping:
            for child in children:
                assert child.process is not None
                if child.process.poll() is not None and not stopping:
                    if child.one_shot and child.process.returncode == 0:
                        continue
                    if child.restarts >= 5:
                        typer.echo(f"{child.name} keeps failing (exit {child.process.returncode}); stopping")
                        stopping = True
                        break
                    child.restarts += 1
                    typer.echo(f"{child.name} exited ({child.process.returncode}); restart {child.restarts}/5")
                    time.sleep(min(2**child.restarts, 30))
                    child.start()
            time.sleep(0.5)
    finally:
        typer.echo("stopping…")
        for child in reversed(children):
            child.stop()
        _stop_started(started, env)
        typer.echo("stopped")


def _migrate(settings: Settings) -> None:
    """Bring every part's tables in the register's database up to date (each has its own history)."""
    from services.api.console.database import migrate as migrate_console
    from services.api.database import migrate as migrate_api
    from services.matching.database import migrate as migrate_matching
    from services.register.database import make_engine
    from services.register.database import migrate as migrate_register

    engine = make_engine(settings.register_url)
    try:
        for migrate in (migrate_register, migrate_matching, migrate_api, migrate_console):
            migrate(engine)
    finally:
        engine.dispose()


def _prepare(settings: Settings) -> None:
    """Bring the database schemas up to date and the broker's topics in line with the catalogue."""
    from schemas.topic_admin import apply_topics
    from schemas.topics import catalogue

    _migrate(settings)
    changes = apply_topics(settings.bootstrap_servers, catalogue(settings.topic_prefix))
    created = sum(change.action == "created" for change in changes)
    typer.echo(f"ok   schema    register, matcher, API and console tables migrated\n"
               f"ok   topics    {len(changes)} topics ({created} created)")


def _demo_accounts(settings: Settings) -> list[tuple[str, str, str]]:
    """Console accounts for the demo, one per role, with passwords made on first use (kept 0600)."""
    import secrets

    from services.api.console.database import migrate as migrate_console
    from services.api.console.users import ConsoleUsers
    from services.register.database import make_engine, session_factory

    saved = settings.state_dir / "demo-accounts.txt"
    if saved.exists():
        return [tuple(line.split(" ")) for line in saved.read_text().splitlines() if line]  # type: ignore[misc]
    engine = make_engine(settings.register_url)
    try:
        migrate_console(engine)
        users = ConsoleUsers(session_factory(engine))
        accounts = [(role, role, secrets.token_urlsafe(9)) for role in ("officer", "operator", "auditor")]
        for user, role, password in accounts:
            if users.get(user) is None:
                users.add(user, f"Demo {role}", role, password)
    finally:
        engine.dispose()
    saved.touch(mode=0o600)
    saved.write_text("".join(f"{user} {role} {password}\n" for user, role, password in accounts))
    return accounts


def _stop_started(scripts: list[Path], env: dict[str, str]) -> None:
    for script in reversed(scripts):
        subprocess.run(["bash", str(script)], env=env, check=False)
