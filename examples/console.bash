# console.bash: what the examples share. Sourced by examples/*.sh, not
# run on its own (hence not .sh and not executable).
#
# Each request is printed as you would type it at a prompt ("$ curl ..."),
# then its answer as curl -i shows it, so a run reads like a console
# session. The script stops with an error as soon as an answer's status is
# not the one it expects.

# API is the server's base URL. Any URL works, a proxy's too.
API=${TOKENAPI_URL:-http://localhost:5000}
API=${API%/}

# SUFFIX is added to every username, so that running a script again on the
# same server does not find its users taken. TOKENAPI_SUFFIX= (set, empty)
# keeps the tutorial's names, for a fresh server.
SUFFIX=${TOKENAPI_SUFFIX-_$(date +%s)_$$}

# TOKEN is the bearer token, once keep_token has set it. Commands print it
# as $TOKEN, the way you would type them.
TOKEN=

# take_token is the sed that takes the token out of a login's JSON answer.
# With jq, `jq -r .token` does the same.
take_token='s/.*"token":"([^"]+)".*/\1/'

# expect STATUS COMMAND...: print the command, run it, print its answer,
# and stop the script unless the answer's status is STATUS, or one of
# STATUS's alternatives: '202|501'. The answer stays in $ANSWER, for
# header below, and its status in $STATUS.
expect() {
  local want=$1 status
  shift
  show "$@"
  if ! ANSWER=$("$@" | tr -d '\r'); then
    echo "$0: $1 failed; is the server running at $API?" >&2
    exit 1
  fi
  printf '%s\n\n' "$ANSWER"
  status=$(sed -n '1s|^HTTP/[0-9.]* \([0-9]*\).*|\1|p' <<<"$ANSWER")
  STATUS=$status
  if [[ "|$want|" != *"|${status:-none}|"* ]]; then
    echo "$0: got status ${status:-none}, want $want" >&2
    exit 1
  fi
}

# header NAME prints the value of header NAME in the last answer, and
# stops the script if there is none. Header names are matched in any case
# and any order, as HTTP allows.
header() {
  local value
  value=$(grep -i -m 1 "^$1:" <<<"$ANSWER" | sed 's/^[^:]*: *//') || true
  if [ -z "$value" ]; then
    echo "$0: no $1 header in the answer" >&2
    exit 1
  fi
  echo "$value"
}

# keep_token USER:PASSWORD logs in with HTTP Basic and keeps the token in
# $TOKEN, printing the line you would type to do the same.
keep_token() {
  echo "\$ TOKEN=\$(curl -s -X POST -u $1 $API/api/tokens | sed -E '$take_token')"
  TOKEN=$(curl -s -X POST -u "$1" "$API/api/tokens" | sed -E "$take_token")
  case $TOKEN in
  tapi_*) ;;
  *)
    echo "$0: no token in the answer: $TOKEN" >&2
    exit 1
    ;;
  esac
}

# show prints a command as you would type it: an argument quoted only when
# the shell needs it, and the token as "$TOKEN".
show() {
  local line='$' arg
  for arg in "$@"; do
    if [ -n "$TOKEN" ] && [[ $arg == *"$TOKEN"* ]]; then
      line+=" \"${arg//"$TOKEN"/\$TOKEN}\""
    elif [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      line+=" $arg"
    else
      line+=" '${arg//\'/\'\\\'\'}'"
    fi
  done
  echo "$line"
}
