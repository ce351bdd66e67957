"""The peer of the notification email benchmark (scripts/bench.sh): the same number of
messages of the same size sent straight to the SMTP sink with smtplib over one connection,
i.e. what the sink itself takes. Prints messages per second.

  python3 smtp_peer.py PORT COUNT SIZE
"""
import email.policy
import smtplib
import sys
import time
from email.message import EmailMessage


def main():
    port, count, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    msg = EmailMessage()
    msg["From"] = "bench@techcorp.test"
    msg["To"] = "peer@example.com"
    msg["Subject"] = "bench"
    body = "\n".join(("word " * 14).strip() for _ in range(max(1, size // 70)))
    msg.set_content(body)
    msg.add_alternative("<p>" + body + "</p>", subtype="html")
    raw = msg.as_bytes(policy=email.policy.SMTP)  # CRLF line ends
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        for _ in range(count):
            s.sendmail("bench@techcorp.test", ["peer@example.com"], raw)
    print(f"{count / (time.monotonic() - t0):.0f}")


if __name__ == "__main__":
    main()
