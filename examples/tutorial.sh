#!/usr/bin/env bash
# tutorial.sh: the walkthrough of the tutorial "API Authentication in
# Flask", in curl. Two users sign up, a login without credentials fails,
# muthoni gets a token with her password, reads gitau's profile with it,
# revokes it, and the same token then gets 401. The README's "A session
# with curl" is this script's output.
#
#   examples/tutorial.sh                                      # http://localhost:5000
#   TOKENAPI_URL=http://localhost:8080 examples/tutorial.sh
#   TOKENAPI_SUFFIX= examples/tutorial.sh                     # plain muthoni and gitau, on a fresh server
#
# Usernames get a suffix unless TOKENAPI_SUFFIX is set (see console.bash).
# The script stops with an error when a status is not the tutorial's.
set -euo pipefail
source "$(dirname "$0")/console.bash"

muthoni=muthoni$SUFFIX
gitau=gitau$SUFFIX

# Signing up needs no credentials. The answer is the new user, and its
# Location header is the user's URL.
expect 201 curl -s -i -X POST "$API/api/users" -H 'Content-Type: application/json' \
  -d '{"username": "'"$muthoni"'", "email": "'"$muthoni"'@example.com", "password": "muthoni123"}'
expect 201 curl -s -i -X POST "$API/api/users" -H 'Content-Type: application/json' \
  -d '{"username": "'"$gitau"'", "email": "'"$gitau"'@example.com", "password": "gitau12345"}'
gitau_url=$(header Location)

# A token without credentials: 401, and WWW-Authenticate asks for Basic.
expect 401 curl -s -i -X POST "$API/api/tokens"

# With muthoni's username and password (HTTP Basic, curl -u): a token.
expect 200 curl -s -i -X POST -u "$muthoni:muthoni123" "$API/api/tokens"

# The same login again, keeping the token in $TOKEN instead of copying it
# by hand. Each login is a session of its own.
keep_token "$muthoni:muthoni123"

# The token opens the rest of the API: gitau's profile (his email is shown
# only to gitau himself).
expect 200 curl -s -i "$API$gitau_url" -H "Authorization: Bearer $TOKEN"

# Logging out revokes the token presented...
expect 204 curl -s -i -X DELETE "$API/api/tokens" -H "Authorization: Bearer $TOKEN"

# ...so the same request now gets 401, saying why.
expect 401 curl -s -i "$API$gitau_url" -H "Authorization: Bearer $TOKEN"
