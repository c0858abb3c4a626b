"""The Procfile `make run` and production run: every process exists, and links follow the address served."""

import re
import subprocess
from pathlib import Path

from django.core.management import get_commands
from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parents[2]
BACKGROUND = ["expire_holds", "deliver_webhooks", "deliver_emails", "send_reminders", "reconcile_deposits"]


def procfile() -> dict[str, str]:
    return parse_procfile((ROOT / "Procfile").read_text()).processes


def test_the_procfile_runs_the_web_server_and_every_background_command_in_a_loop():
    processes = procfile()
    assert list(processes) == ["web", *BACKGROUND]
    assert processes["web"].startswith("gunicorn config.wsgi --bind ${HOST:-0.0.0.0}:${PORT:-8000}")
    commands = get_commands()
    for name in BACKGROUND:
        assert processes[name] == f"python manage.py {name} --loop"
        assert commands[name] == "bookings", f"{name} is not a management command"


def test_the_readme_lists_the_procfile_in_running_in_production():
    readme = (ROOT / "README.md").read_text()
    production = readme.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    for name, command in procfile().items():
        assert f"| `{name}` | `{command}` |" in production


def test_make_run_serves_the_procfile_with_links_to_the_address_it_serves():
    dry_run = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"SITE_URL=http://127\.0\.0\.1:8123 .*manage\.py seed_demo", dry_run)
    assert "SITE_URL=http://127.0.0.1:8123 WEB_CONCURRENCY=1" in dry_run
    assert "honcho start -f Procfile -p 8123" in dry_run
    other = subprocess.run(["make", "-n", "run", "HOST=0.0.0.0"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "SITE_URL=http://127.0.0.1:8000 " in other  # a link to 0.0.0.0 would lead nowhere
