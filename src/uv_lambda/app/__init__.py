"""The use cases, between the command line and the subsystems.

Each is a plain function that takes resolved inputs (the project, its functions, typed
requests) and returns results; the command modules in cli/ parse the command line, call
one, and render what it returns. Nothing here reads argv or prints results; progress goes
to the Reporter passed in.

- build.py   `build_into`, `build_for_local_run`: one folder, one build record
- image.py   `build_function_image`: stage, then build the image an `ImageTarget` describes
- local.py   `open_local`: the LocalFunction `invoke` and `serve` run (`open_image`: a pushed image)
- serve.py   `serve`: the HTTP server and Invoke API until interrupted, `--watch`'s rebuild and swap
- remote.py  `invoke_deployed`: `invoke --remote`, the deployed function on AWS
- deploy.py  `deploy`, `destroy`, and `apply_plans`, the loop both apply their plans with

Nothing is imported here: the command line imports only the use case it runs.
"""
