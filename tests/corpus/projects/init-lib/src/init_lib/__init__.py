def hello() -> str:
    return "Hello from init-lib!"
