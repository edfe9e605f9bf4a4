"""Run built artifacts locally the way AWS Lambda runs them, without Docker (docs/local.md).

runtime_folder  the cached folder that plays /var/runtime (awslambdaric, boto3)
layout          the unpacked task root and /opt of one function
environ         the environment variables Lambda gives a Python function
runtime_api     the Runtime API (2018-06-01) server of one execution environment
environment     one execution environment: a runtime process and its lifecycle
pool            up to N environments; routes each event to exactly one of them
function        a built function made runnable: layout + runtime folder + pool
invoke_api      the Lambda Invoke API (what boto3 and `aws lambda invoke` call)
http_server     `serve`: the gateway and the Invoke API on 127.0.0.1
events/gateway  HTTP requests to events, and function results back to HTTP
hot_swap/watch  `serve --watch`: rebuild on change, swap without failing a request
"""
