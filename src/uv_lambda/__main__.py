from uv_lambda.cli import main

raise SystemExit(main())
