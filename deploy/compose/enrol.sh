#!/bin/sh
# Start the network, enrol every child at its parent (`tiersync child add`, run in the parent's
# container with its configuration) and write the credentials to .env, then restart the children
# so they connect. Safe to re-run: enrolling again issues new credentials and revokes the old.
set -eu
cd "$(dirname "$0")"
docker compose up -d --wait
: > .env.new
chmod 600 .env.new
if [ -f .env ]; then grep -v -e '^TOKEN_' -e '^HASH_KEY=' .env >> .env.new || true; fi
enrol() {  # enrol PARENT_SERVICE CHILD_CODE NAME
    output=$(docker compose exec -T "$1" tiersync child add "$2" --name "$3")
    echo "TOKEN_$2=$(echo "$output" | tail -n 1)" >> .env.new
    # the prefecture's hash key, the same for every child (docs/decisions/1001)
    key=$(echo "$output" | sed -n 's/^the prefecture.s hash key, for its TIERSYNC_HASH_KEY: //p')
    if [ -n "$key" ] && ! grep -q '^HASH_KEY=' .env.new; then echo "HASH_KEY=$key" >> .env.new; fi
}
enrol huangnan 632301 "Tongren City"
enrol huangnan 632322 "Jianzha County"
enrol huangnan 632323 "Zeku County"
enrol huangnan 632324 "Henan Mongol Autonomous County"
enrol tongren 632301101 "Longwu Town"
enrol jianzha 632322101 "Kangyang Town"
enrol zeku 632323102 "Maixiu Town"
enrol henan 632324106 "Tuoyema Township"
enrol longwu 632301101001 "Huoerjia Community"
enrol kangyang 632322101201 "Dongmen Village"
enrol maixiu 632323102201 "Hazang Village"
mv .env.new .env
docker compose up -d --wait
echo "enrolled; the prefecture's dashboard: http://127.0.0.1:8700/"
