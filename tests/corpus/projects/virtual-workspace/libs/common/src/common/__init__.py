def stamp(what: str) -> str:
    return f"{what}, stamped by common"
