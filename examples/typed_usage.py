"""Launch a few headless replicas, wait for them, print what each wrote, and clean up.

Runs on this machine with no login (the local backend), or on the CANFAR Science Platform after
`canfar auth login`. The type checker knows every result: try `mypy examples/typed_usage.py`.

    python examples/typed_usage.py [IMAGE]
"""

from __future__ import annotations

import sys

import canfar.context
import canfar.images
from canfar.errors import CanfarError, LaunchError, SessionRequestError, WaitTimeout
from canfar.models import Image, ResourceContext, SessionInfo
from canfar.sessions import Session

SCRIPT = "import os; print('replica', os.environ['REPLICA_ID'], 'of', os.environ['REPLICA_COUNT'])"


def launch(session: Session, image: str, replicas: int = 3) -> list[str]:
    """Start the replicas; keep the ones that launched even if some did not."""
    try:
        return session.create(
            name="typed-example",
            kind="headless",
            image=image,
            cmd="python3",
            args=["-c", SCRIPT],
            replicas=replicas,
        )
    except LaunchError as err:
        for replica, reason in sorted(err.failures.items()):
            print(f"replica {replica} did not launch: {reason}", file=sys.stderr)
        return err.ids


def report(session: Session, states: dict[str, SessionInfo]) -> int:
    """Print each session's output; the number that failed."""
    failed = 0
    for session_id, state in states.items():
        print(f"== {state.name} ({session_id}): {state.status}")
        print((session.logs(session_id) or {}).get(session_id, ""), end="")
        failed += state.status == "Failed"
    return failed


def main(argv: list[str]) -> int:
    image = argv[0] if argv else "images.canfar.net/skaha/astroml:latest"
    session = Session(errors="raise")  # a replica that fails to launch raises LaunchError
    offer: ResourceContext = canfar.context.resources()
    headless: list[Image] = canfar.images.fetch(kind="headless")
    print(f"{session.context.name}: cores {offer.cores}, {len(headless)} headless images")
    ids = launch(session, image)
    if not ids:
        return 1
    try:
        states = session.wait(ids, status=["Completed", "Failed"], timeout=600, poll=1.0)
    except WaitTimeout as err:
        print(f"still running after 10 minutes: {', '.join(err.pending)}", file=sys.stderr)
        return 1
    failed = report(session, states)
    try:
        session.destroy(ids)
        problems: list[str] = []
    except SessionRequestError as err:  # errors="raise": every id's reason
        problems = [f"{sid}: {why}" for sid, why in err.errors.items()]
    for problem in problems:
        print(f"not deleted: {problem}", file=sys.stderr)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except CanfarError as err:
        print(f"Error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
