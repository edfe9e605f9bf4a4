#!/usr/bin/env bash
# Writes what uv writes for each project of tests/corpus/projects/, the way users make
# projects: `uv init` (each flavour), then `uv add` with exact pins, resolved under
# [tool.uv] exclude-newer so that a re-run resolves the same versions. Each project is made
# in a scratch folder; its pyproject.toml, uv.lock, .python-version and vendored wheels then
# replace the committed ones, and uv's other files (src/<name>/__init__.py) are added where
# missing. The application code is the projects' own, written by hand, never touched here.
# Run from the repository root with the uv and Pythons 3.10-3.13 of the test environment on
# PATH:  bash tests/corpus/make_projects.sh [NAME...]  (default: all)
set -euo pipefail
ROOT=tests/corpus/projects
EXCLUDE_NEWER=2025-06-01T00:00:00Z
export UV_PYTHON_DOWNLOADS=never
SELECTED=" ${*:-} "
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

want() { [ "$SELECTED" = "  " ] || [[ "$SELECTED" == *" $1 "* ]]; }

# init NAME FLAVOUR PYTHON [EXCLUDE_NEWER]
init() {
    local dir=$SCRATCH/$1
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    # shellcheck disable=SC2086 # FLAVOUR may be empty
    uv init --quiet --vcs none --no-workspace --no-readme --author-from none $2 -p "$3" --name "$(basename "$1")" "$dir"
    printf '\n[tool.uv]\nexclude-newer = "%s"\n' "${4:-$EXCLUDE_NEWER}" >>"$dir/pyproject.toml"
}
# member WORKSPACE PATH FLAVOUR: `uv init` inside a workspace (uv adds nothing: the glob lists it)
member() { (cd "$SCRATCH/$1" && uv init --quiet --vcs none --no-readme --author-from none $3 -p 3.13 "$2"); }
add() { local dir=$SCRATCH/$1; shift; (cd "$dir" && uv add --quiet --no-sync --bounds exact "$@"); }
# tool NAME TEXT: a [tool.uv-lambda] table (then uv lock again: pyproject.toml changed)
tool() { printf '\n[tool.uv-lambda]\n%s\n' "$2" >>"$SCRATCH/$1/pyproject.toml"; (cd "$SCRATCH/$1" && uv lock --quiet); }
# keep NAME: the scratch project into the corpus
keep() {
    local from=$SCRATCH/$1 to=$ROOT/$1 file
    mkdir -p "$to"
    rm -f "$to/uv.lock"
    cp -rn "$from/." "$to/"
    (cd "$from" && find . \( -name pyproject.toml -o -name uv.lock -o -name .python-version -o -name '*.whl' \) -print) |
        while read -r file; do cp -f "$from/$file" "$to/$file"; done
}

# simple NAME FLAVOUR PYTHON [--exclude-newer DATE] PACKAGE...: init, add, keep
simple() {
    local name=$1 flavour=$2 python=$3 exclude=""
    shift 3
    if [ "$1" = --exclude-newer ]; then exclude=$2; shift 2; fi
    want "$name" || return 0
    init "$name" "$flavour" "$python" "$exclude"
    add "$name" "$@"
    keep "$name"
}

simple fastapi-mangum --app 3.13 fastapi mangum

simple flask-apig-wsgi --app 3.12 flask apig-wsgi

if want flask-templates; then
    # Flask's templates/ is data at the root: shipped only when include names it.
    init flask-templates --app 3.13
    add flask-templates flask apig-wsgi
    tool flask-templates 'include = ["main.py", "templates"]'
    keep flask-templates
fi

simple django-mangum --app 3.12 django mangum

simple litestar-mangum --app 3.13 litestar mangum

simple powertools-api --app 3.13 aws-lambda-powertools

simple psycopg3-app --app 3.12 "psycopg[binary]"

simple psycopg2-app --app 3.11 psycopg2-binary

simple numpy-pandas --app 3.12 numpy pandas

if want pillow-arm64; then
    init pillow-arm64 --app 3.12
    add pillow-arm64 pillow
    tool pillow-arm64 'architecture = "arm64"'
    keep pillow-arm64
fi

# orjson 3.9 wheels carry a compressed tag set on one Tag: line (older maturin).
simple orjson-ujson-311 --app 3.11 orjson==3.9.15 ujson

# A lock of the pydantic 2.10 era: pydantic-core 2.27, built by maturin <= 1.9.
simple fastapi-pydantic210 --app 3.12 --exclude-newer 2025-01-15T00:00:00Z fastapi==0.115.6 pydantic==2.10.5 mangum

simple sdist-docopt --app 3.12 docopt==0.6.2

simple sdist-with-c --app 3.12 crcmod==1.7

# Both install into one PEP 420 namespace folder, jaraco/.
simple namespace-deps --app 3.13 jaraco.functools jaraco.context

if want package-data; then
    init package-data --package 3.13
    tool package-data 'handler = "package_data.handler.handler"'
    keep package-data
fi

if want path-dependency; then
    init greetlib --lib 3.13
    init path-dependency --app 3.13
    # A path source outside the project (and outside any workspace).
    add path-dependency ../greetlib
    keep greetlib
    keep path-dependency
fi

if want virtual-workspace; then
    mkdir -p "$SCRATCH/virtual-workspace"
    printf '[tool.uv.workspace]\nmembers = ["functions/*", "libs/*"]\n\n[tool.uv]\nexclude-newer = "%s"\n' \
        "$EXCLUDE_NEWER" >"$SCRATCH/virtual-workspace/pyproject.toml"
    member virtual-workspace libs/common --lib
    member virtual-workspace functions/orders --bare
    member virtual-workspace functions/users --app
    add virtual-workspace/functions/orders common attrs
    add virtual-workspace/functions/users common
    keep virtual-workspace
fi

simple init-app --app 3.13 python-dateutil

if want init-package; then
    init init-package --package 3.12
    add init-package pyyaml
    tool init-package 'handler = "init_package.handler.handler"'
    keep init-package
fi

simple init-lib --lib 3.11 requests

simple init-bare --bare 3.10 markupsafe

# Late enough for wheels of python3.14 too (markupsafe 3.0.3), where an interpreter exists.
simple runtimes --app 3.10 --exclude-newer 2025-11-01T00:00:00Z markupsafe "tomli; python_version < '3.11'"

simple exclude-newer --app 3.12 --exclude-newer 2024-06-01T00:00:00Z requests

if want default-groups; then
    init default-groups --app 3.13
    add default-groups structlog
    add default-groups --dev ruff
    add default-groups --group test pytest
    # Set once the groups exist (uv refuses a default group it does not know).
    sed -i 's/^exclude-newer = .*/&\ndefault-groups = ["dev", "test"]/' "$SCRATCH/default-groups/pyproject.toml"
    (cd "$SCRATCH/default-groups" && uv lock --quiet)
    keep default-groups
fi

if want vendored-wheel; then
    init vendored-wheel --app 3.13
    init acme-tools --lib 3.13
    sed -i 's/^version = .*/version = "1.0"/' "$SCRATCH/acme-tools/pyproject.toml"
    printf 'def shout(text: str) -> str:\n    return text.upper() + "!"\n' >"$SCRATCH/acme-tools/src/acme_tools/__init__.py"
    SOURCE_DATE_EPOCH=315532800 uv build --quiet --wheel --out-dir "$SCRATCH/vendored-wheel/vendor" "$SCRATCH/acme-tools"
    rm "$SCRATCH/vendored-wheel/vendor/.gitignore" # uv build ignores its own output
    add vendored-wheel ./vendor/acme_tools-1.0-py3-none-any.whl
    keep vendored-wheel
fi

# app/ (no __init__.py) is the project's own: a namespace package holding the handler.
simple namespace-app --bare 3.12 attrs

if want caller; then
    # Not a function: the folder the "built from elsewhere" cases run in. Its own uv
    # settings must reach neither the projects it builds nor the tool's own installs.
    init caller --app 3.13 2020-01-01T00:00:00Z
    printf 'index-url = "http://127.0.0.1:9/simple"\n' >>"$SCRATCH/caller/pyproject.toml"
    keep caller
fi

# Every lock must agree with its pyproject.toml.
find "$ROOT" -name uv.lock -print | while read -r lock; do (cd "$(dirname "$lock")" && uv lock --check --quiet); done
