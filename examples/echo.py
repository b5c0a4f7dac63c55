"""Say which replica this is and which files it would process: run it with
canfar create headless skaha/astroml:latest --replicas 3 -- python examples/echo.py"""

import os

from canfar.helpers import distributed

replica, count = os.environ.get("REPLICA_ID", "1"), os.environ.get("REPLICA_COUNT", "1")
files = [f"image-{n:04d}.fits" for n in range(10)]
print(f"replica {replica} of {count} takes {list(distributed.chunk(files))}")
