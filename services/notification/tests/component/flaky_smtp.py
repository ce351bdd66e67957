"""A test SMTP relay (aiosmtpd) that fails on purpose, by recipient:
  <local>+flakyN@…  answers 451 (try again later) to the first N RCPTs for that address
  <local>+always@…  always answers 451
  <local>+reject@…  answers 550 (no such user)
and stores what it accepts in a Maildir, like the stack's sink.

  python3 flaky_smtp.py PORT MAILDIR
"""
import asyncio
import mailbox
import re
import sys

from aiosmtpd.controller import Controller


class Flaky:
    def __init__(self, box):
        self.box = box
        self.seen = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.seen[address] = self.seen.get(address, 0) + 1
        m = re.search(r"\+flaky(\d+)@", address)
        if m and self.seen[address] <= int(m.group(1)):
            return "451 4.3.0 Greylisted, try again later"
        if "+always@" in address:
            return "451 4.3.0 Try again later"
        if "+reject@" in address:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content)
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    box = mailbox.Maildir(directory, create=True)
    controller = Controller(Flaky(box), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
