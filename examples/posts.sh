#!/usr/bin/env bash
# posts.sh: a user's posts, in curl. Sign up, log in, write a post, fix
# it, see it in the list of all posts and in the user's own, delete it.
#
#   examples/posts.sh                                      # http://localhost:5000
#   TOKENAPI_URL=http://localhost:8080 examples/posts.sh
#
# The username gets a suffix unless TOKENAPI_SUFFIX is set (see
# console.bash). The script stops with an error when a status is not the
# one shown in its comments.
set -euo pipefail
source "$(dirname "$0")/console.bash"

wanjiru=wanjiru$SUFFIX

# A user, and a token for her.
expect 201 curl -s -i -X POST "$API/api/users" -H 'Content-Type: application/json' \
  -d '{"username": "'"$wanjiru"'", "email": "'"$wanjiru"'@example.com", "password": "wanjiru123"}'
user_url=$(header Location)
keep_token "$wanjiru:wanjiru123"

# A post needs a title and a body: without a title, 400 and a message
# naming the field.
expect 400 curl -s -i -X POST "$API/api/posts" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"body": "Tea is a drink."}'

# With both: 201, the post, and its URL in Location.
expect 201 curl -s -i -X POST "$API/api/posts" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"title": "Tea", "body": "Tea is a drink."}'
post_url=$(header Location)

# Its author may change the title, the body or both.
expect 200 curl -s -i -X PUT "$API$post_url" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"body": "Tea is a drink, best with milk."}'

# All posts, newest first, a page at a time.
expect 200 curl -s -i "$API/api/posts?per_page=5" -H "Authorization: Bearer $TOKEN"

# One user's posts.
expect 200 curl -s -i "$API$user_url/my-posts" -H "Authorization: Bearer $TOKEN"

# Deleting it: 204, and then it is gone.
expect 204 curl -s -i -X DELETE "$API$post_url" -H "Authorization: Bearer $TOKEN"
expect 404 curl -s -i "$API$post_url" -H "Authorization: Bearer $TOKEN"

# Log out, so the token does not outlive the script.
expect 204 curl -s -i -X DELETE "$API/api/tokens" -H "Authorization: Bearer $TOKEN"
