from greeting import exclaim


def hello() -> str:
    return exclaim("Hello from library")
