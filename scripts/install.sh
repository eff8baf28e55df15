# Sourced by scripts/serve and scripts/test: install_into VENV SPEC creates VENV when missing and installs
# the project as SPEC ('.' or '.[test]') into it. pip's chatter (progress, and warnings about this machine's
# package indexes) goes to VENV/install.log; a failed install shows the end of that log and exits 1.
install_into() {
  local venv=$1 spec=$2
  [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
  echo "Installing Townsquare${spec#.} into $venv (pip's output: $venv/install.log) ..." >&2
  if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install -e "$spec" ; } \
      >"$venv/install.log" 2>&1; then
    echo "The install failed. The end of $venv/install.log:" >&2
    tail -n 40 "$venv/install.log" >&2
    exit 1
  fi
}
