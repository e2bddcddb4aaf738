#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real, when they are missing.
# `npm test` runs this first, so a machine with only Node and npm passes the suite;
# no test is ever skipped because a tool is missing.
#
# As root it runs apt-get itself. As any other user it stops at once and prints
# the exact command to run, because a half-installed tool set would only turn into
# confusing test failures later.
#
# One line per tool: "<command on PATH, or an absolute path> <Debian package that provides it>".
# Today that means, on a fresh Debian 12 machine:
#   apt-get install -y --no-install-recommends pebble dovecot-imapd chromium postgresql-15 haproxy
# Commands are looked up on PATH: Dovecot's and haproxy's live in /usr/sbin, which root's PATH holds.
# A test suite that drives another server adds its line here, never an install step of its own.
set -euo pipefail

requirements=(
  "pebble pebble"                             # ACME test CA (test/helpers/pebble.ts)
  "pebble-challtestsrv pebble"                # its mock DNS server
  "dovecot dovecot-imapd"                     # IMAP server for report intake (test/helpers/dovecot.ts)
  "chromium chromium"                         # headless browser for the dashboard tests (test/helpers/browser.ts)
  "/usr/lib/postgresql/15/bin/postgres postgresql-15"  # PostgreSQL backend tests (test/helpers/postgres.ts); not on PATH
  "haproxy haproxy"                           # load balancer in front of the replicas (test/helpers/haproxy.ts)
)

missing=()
for line in "${requirements[@]}"; do
  read -r cmd pkg <<<"$line"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need Debian packages that are not installed: ${missing[*]}" >&2
  echo "Install them, then run npm test again:" >&2
  echo "  sudo apt-get update && sudo $install" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these Debian packages, and this machine has no apt-get: ${missing[*]}" >&2
  exit 1
fi

echo "Installing the Debian packages the tests need: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends ${missing[*]} >/dev/null
for line in "${requirements[@]}"; do
  read -r cmd pkg <<<"$line"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "Installed $pkg, but '$cmd' is still not on PATH ($PATH)" >&2
    exit 1
  fi
done
