import sys

try:
    from uv_lambda.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still starting: nothing has begun
    sys.exit(130)

raise SystemExit(main())
