"""Deploy and destroy: build -> plan (read-only calls) -> execute (the only writer).

    desired = desired_function(config, build, options)   # local checks, no AWS call
    plan = plan_deploy(desired, aws)                     # describe calls only
    outcome = execute(plan, aws, reporter)               # write calls, in plan order

Modules: models (the plan as data), aws (the boto3 facade), checks, desired, planner, teardown,
executor, render, remote. Importing this package does not import boto3.
"""
