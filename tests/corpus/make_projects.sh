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

if want fastapi-mangum; then
    init fastapi-mangum --app 3.13
    add fastapi-mangum fastapi mangum
    keep fastapi-mangum
fi

if want flask-apig-wsgi; then
    init flask-apig-wsgi --app 3.12
    add flask-apig-wsgi flask apig-wsgi
    keep flask-apig-wsgi
fi

if want flask-templates; then
    # Flask's templates/ is data at the root: shipped only when include names it.
    init flask-templates --app 3.13
    add flask-templates flask apig-wsgi
    tool flask-templates 'include = ["main.py", "templates"]'
    keep flask-templates
fi

if want django-mangum; then
    init django-mangum --app 3.12
    add django-mangum django mangum
    keep django-mangum
fi

if want litestar-mangum; then
    init litestar-mangum --app 3.13
    add litestar-mangum litestar mangum
    keep litestar-mangum
fi

if want powertools-api; then
    init powertools-api --app 3.13
    add powertools-api aws-lambda-powertools
    keep powertools-api
fi

if want psycopg3-app; then
    init psycopg3-app --app 3.12
    add psycopg3-app "psycopg[binary]"
    keep psycopg3-app
fi

if want psycopg2-app; then
    init psycopg2-app --app 3.11
    add psycopg2-app psycopg2-binary
    keep psycopg2-app
fi

if want numpy-pandas; then
    init numpy-pandas --app 3.12
    add numpy-pandas numpy pandas
    keep numpy-pandas
fi

if want pillow-arm64; then
    init pillow-arm64 --app 3.12
    add pillow-arm64 pillow
    tool pillow-arm64 'architecture = "arm64"'
    keep pillow-arm64
fi

if want orjson-ujson-311; then
    init orjson-ujson-311 --app 3.11
    # orjson 3.9 wheels carry a compressed tag set on one Tag: line (older maturin).
    add orjson-ujson-311 orjson==3.9.15 ujson
    keep orjson-ujson-311
fi

if want fastapi-pydantic210; then
    # A lock of the pydantic 2.10 era: pydantic-core 2.27, built by maturin <= 1.9.
    init fastapi-pydantic210 --app 3.12 2025-01-15T00:00:00Z
    add fastapi-pydantic210 fastapi==0.115.6 pydantic==2.10.5 mangum
    keep fastapi-pydantic210
fi

if want sdist-docopt; then
    init sdist-docopt --app 3.12
    add sdist-docopt docopt==0.6.2
    keep sdist-docopt
fi

if want sdist-with-c; then
    init sdist-with-c --app 3.12
    add sdist-with-c crcmod==1.7
    keep sdist-with-c
fi

if want namespace-deps; then
    init namespace-deps --app 3.13
    # Both install into one PEP 420 namespace folder, jaraco/.
    add namespace-deps jaraco.functools jaraco.context
    keep namespace-deps
fi

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

if want init-app; then
    init init-app --app 3.13
    add init-app python-dateutil
    keep init-app
fi

if want init-package; then
    init init-package --package 3.12
    add init-package pyyaml
    tool init-package 'handler = "init_package.handler.handler"'
    keep init-package
fi

if want init-lib; then
    init init-lib --lib 3.11
    add init-lib requests
    keep init-lib
fi

if want init-bare; then
    init init-bare --bare 3.10
    add init-bare markupsafe
    keep init-bare
fi

if want runtimes; then
    # Late enough for wheels of python3.14 too (markupsafe 3.0.3), where an interpreter exists.
    init runtimes --app 3.10 2025-11-01T00:00:00Z
    add runtimes markupsafe "tomli; python_version < '3.11'"
    keep runtimes
fi

if want exclude-newer; then
    init exclude-newer --app 3.12 2024-06-01T00:00:00Z
    add exclude-newer requests
    keep exclude-newer
fi

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

if want namespace-app; then
    # app/ (no __init__.py) is the project's own: a namespace package holding the handler.
    init namespace-app --bare 3.12
    add namespace-app attrs
    keep namespace-app
fi

if want caller; then
    # Not a function: the folder the "built from elsewhere" cases run in. Its own uv
    # settings must reach neither the projects it builds nor the tool's own installs.
    init caller --app 3.13 2020-01-01T00:00:00Z
    printf 'index-url = "http://127.0.0.1:9/simple"\n' >>"$SCRATCH/caller/pyproject.toml"
    keep caller
fi

# Every lock must agree with its pyproject.toml.
find "$ROOT" -name uv.lock -print | while read -r lock; do (cd "$(dirname "$lock")" && uv lock --check --quiet); done
