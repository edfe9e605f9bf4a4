def main() -> None:
    print("Hello from orjson-ujson-311!")
