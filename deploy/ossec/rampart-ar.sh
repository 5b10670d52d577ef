#!/bin/sh
# rampart-ar.sh: an OSSEC active response that sends the alert's source to
# the Rampart server at once ("rampart sensor active-response"), instead of
# blocking it on this host: the server decides, every front-end's agent
# blocks. It complements the sensor, which follows alerts.log; both give an
# alert the same idempotency key, so the server counts it once.
#
# Install on the OSSEC manager:
#   install -o root -g ossec -m 0750 rampart-ar.sh /var/ossec/active-response/bin/
#   append ossec.conf.xml to /var/ossec/etc/ossec.conf; restart OSSEC
#
# execd runs it as
#   rampart-ar.sh add|delete USER SRCIP ALERTID RULEID LOCATION... FILENAME
# (it splits its message at every space, so an agent's location arrives as
# two words). "delete" is ignored: the server decides when bans end, and the
# <command> disallows timeouts, so execd never sends one.
#
# RAMPART_SERVER and RAMPART_TOKEN come from the sensor's environment file,
# so the token never appears on a command line.

RAMPART_ENV=${RAMPART_ENV:-/etc/rampart/sensor.env}
RAMPART_BIN=${RAMPART_BIN:-/usr/local/bin/rampart}
# OSSEC does not pass the alert's level: report the <level> of the
# <active-response> block (ossec.conf.xml).
RAMPART_AR_LEVEL=${RAMPART_AR_LEVEL:-10}
RAMPART_AR_LOG=${RAMPART_AR_LOG:-/var/ossec/logs/active-responses.log}

if [ -r "$RAMPART_ENV" ]; then
    set -a
    . "$RAMPART_ENV"
    set +a
fi
echo "$(date) $0 $*" >> "$RAMPART_AR_LOG"
exec "$RAMPART_BIN" sensor active-response --level "$RAMPART_AR_LEVEL" -- "$@" >> "$RAMPART_AR_LOG" 2>&1
