import sys

try:
    from uv_lambda.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing: nothing has begun
    from uv_lambda import INTERRUPTED

    sys.stderr.write(INTERRUPTED)
    sys.exit(130)

raise SystemExit(main())
