#!/usr/bin/env bash
# reset.sh: a forgotten password, in curl. Sign up, log in, ask for a reset
# code by mail, take it from the mail, set a new password with it: the old
# session ends, the new password logs in, and the code fails a second time.
#
#   TOKENAPI_MAILDIR=/tmp/mail examples/reset.sh
#
# The server must send its mail to an SMTP server that keeps it in a
# maildir this script can read, TOKENAPI_MAILDIR. A sink on this machine
# (Debian: apt-get install python3-aiosmtpd):
#
#   python3 -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox /tmp/mail &
#   ./tokenapi -smtp-url smtp://127.0.0.1:2525 -mail-from noreply@example.com
#
# A server without mail answers the request 501, and the script stops
# there; without TOKENAPI_MAILDIR it stops after the 202. The username
# gets a suffix unless TOKENAPI_SUFFIX is set (see console.bash).
set -euo pipefail
source "$(dirname "$0")/console.bash"

amani=amani$SUFFIX
MAILDIR=${TOKENAPI_MAILDIR:-}

# A user, and a session of hers.
expect 201 curl -s -i -X POST "$API/api/users" -H 'Content-Type: application/json' \
  -d '{"username": "'"$amani"'", "email": "'"$amani"'@example.com", "password": "amani12345"}'
keep_token "$amani:amani12345"
old_token=$TOKEN

# She forgot the password: 202, the same answer for any address, and a
# mail to hers. 501 on a server that sends no mail.
expect '202|501' curl -s -i -X POST "$API/api/password-reset" -H 'Content-Type: application/json' \
  -d '{"email": "'"$amani"'@example.com"}'
if [ "$STATUS" = 501 ]; then
  echo "# This server sends no mail (-smtp-url); an operator can set a password with tokenapi passwd."
  exit 0
fi
if [ -z "$MAILDIR" ]; then
  echo "# The code is in the mail; set TOKENAPI_MAILDIR to let this script read it."
  exit 0
fi

# The code, from the mail (the sink keeps each mail a file in new/; the
# sign-up's mail, with a code that verifies her address, is another).
code=
for _ in $(seq 300); do
  mail=$(grep -l "$amani@example.com" "$MAILDIR"/new/* 2>/dev/null | xargs -r grep -l 'tapr_' | tail -n 1 || true)
  if [ -n "$mail" ]; then
    code=$(grep -o -m 1 'tapr_[0-9A-Za-z]*' "$mail")
    break
  fi
  sleep 0.1
done
if [ -z "$code" ]; then
  echo "$0: no mail to $amani@example.com in $MAILDIR/new within 30s" >&2
  exit 1
fi
echo "\$ code=$code   # from the mail"

# The code and a new password: 204, and every session of hers ends.
expect 204 curl -s -i -X POST "$API/api/password-reset/confirm" -H 'Content-Type: application/json' \
  -d '{"token": "'"$code"'", "password": "a-new-password"}'
expect 401 curl -s -i "$API/api/users" -H "Authorization: Bearer $old_token"

# The code works once.
expect 400 curl -s -i -X POST "$API/api/password-reset/confirm" -H 'Content-Type: application/json' \
  -d '{"token": "'"$code"'", "password": "another-password"}'

# The new password logs in; log out, so the token does not outlive the script.
TOKEN=
keep_token "$amani:a-new-password"
expect 204 curl -s -i -X DELETE "$API/api/tokens" -H "Authorization: Bearer $TOKEN"
