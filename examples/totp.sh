#!/usr/bin/env bash
# totp.sh: two-step login, in curl. Sign up, log in, turn TOTP on (enrol
# with the password, confirm with a code), then log in again: the password
# alone gets 401 and X-OTP: required, the password and a code get a
# token, and a code works once. A recovery code stands in for a code, once.
# Last, TOTP goes off again.
#
#   examples/totp.sh                                      # http://localhost:5000
#   TOKENAPI_URL=http://localhost:8080 examples/totp.sh
#
# The codes an authenticator app would show come from `tokenapi totp-code`
# (TOKENAPI_BIN names the binary when tokenapi is not on the PATH). The
# username gets a suffix unless TOKENAPI_SUFFIX is set (see console.bash).
# The script stops with an error when a status is not the one it expects.
set -euo pipefail
source "$(dirname "$0")/console.bash"

tokenapi=${TOKENAPI_BIN:-tokenapi}
amani=amani$SUFFIX

expect 201 curl -s -i -X POST "$API/api/users" -H 'Content-Type: application/json' \
  -d '{"username": "'"$amani"'", "email": "'"$amani"'@example.com", "password": "amani12345"}'
user_url=$(header Location)
keep_token "$amani:amani12345"

# Enrol: the current password buys a secret, and the otpauth URI an
# authenticator app reads (as a QR code). Nothing changes until a code
# from the app confirms it.
expect 200 curl -s -i -X POST "$API$user_url/totp" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"current_password": "amani12345"}'
secret=$(sed -n -E 's/.*"secret":"([A-Z2-7]+)".*/\1/p' <<<"$ANSWER")

# Confirm with the code the app shows now: TOTP is on, and the answer has
# ten recovery codes, shown this once.
echo "\$ code=\$(tokenapi totp-code $secret)"
code=$("$tokenapi" totp-code "$secret")
expect 200 curl -s -i -X POST "$API$user_url/totp/confirm" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"code": "'"$code"'"}'
recovery1=$(sed -n -E 's/.*"recovery_codes":\["([a-z2-7-]+)".*/\1/p' <<<"$ANSWER")
recovery2=$(sed -n -E 's/.*"recovery_codes":\["[a-z2-7-]+","([a-z2-7-]+)".*/\1/p' <<<"$ANSWER")

# The password alone is not enough now: 401, and X-OTP: required.
expect 401 curl -s -i -X POST -u "$amani:amani12345" "$API/api/tokens"

# With a code in X-OTP: a token. A code works once, and the confirmation
# used this step's, so this is the next step's, which the server takes
# too (one step either way).
echo "\$ code=\$(tokenapi totp-code -next $secret)"
code=$("$tokenapi" totp-code -next "$secret")
expect 200 curl -s -i -X POST -u "$amani:amani12345" -H "X-OTP: $code" "$API/api/tokens"

# The same code again: 401.
expect 401 curl -s -i -X POST -u "$amani:amani12345" -H "X-OTP: $code" "$API/api/tokens"

# A recovery code instead of a code, for a lost phone: once.
expect 200 curl -s -i -X POST -u "$amani:amani12345" -H "X-OTP: $recovery1" "$API/api/tokens"
expect 401 curl -s -i -X POST -u "$amani:amani12345" -H "X-OTP: $recovery1" "$API/api/tokens"

# TOTP off: the password and a code (or a recovery code). The user's own
# view says totp_enabled false again, and the password alone logs in.
expect 204 curl -s -i -X DELETE "$API$user_url/totp" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"current_password": "amani12345", "code": "'"$recovery2"'"}'
expect 200 curl -s -i "$API$user_url" -H "Authorization: Bearer $TOKEN"
expect 200 curl -s -i -X POST -u "$amani:amani12345" "$API/api/tokens"

# Log out everywhere, so no token outlives the script.
expect 204 curl -s -i -X DELETE "$API/api/tokens?all=true" -H "Authorization: Bearer $TOKEN"
