import os
import sys

try:
    from uv_lambda.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing: nothing has begun
    from uv_lambda import INTERRUPTED

    sys.stderr.write(INTERRUPTED)
    sys.stderr.flush()
    os._exit(130)  # not sys.exit: see main()

raise SystemExit(main())
