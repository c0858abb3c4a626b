"""What every background command shares: one pass, or with --loop a pass every --interval seconds.

`deliver_webhooks`, `deliver_emails`, `send_reminders`, `expire_holds` and `reconcile_deposits`
run beside the web server (the Procfile). Each says what one pass does (`background_pass`); this
loops it, stays quiet when a looped pass had nothing to do, takes the next batch at once when a
pass filled its batch, and stops on Ctrl-C.
"""

import time
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


@dataclass(frozen=True)
class Pass:
    summary: str  # what the pass did, in a line
    worked: bool  # it had something to do (printed even when looping)
    more: bool = False  # it filled its batch: run the next pass at once


class BackgroundCommand(BaseCommand):
    interval: float = 30.0  # default seconds between passes with --loop

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running, every --interval seconds.")
        parser.add_argument("--interval", type=float, default=self.interval, help="Seconds between passes with --loop.")

    def background_pass(self, **options: Any) -> Pass:
        raise NotImplementedError

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        while True:
            done = self.background_pass(**options)
            if done.worked or not loop:
                self.stdout.write(done.summary)
            if not loop:
                return
            if done.more:
                continue
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
